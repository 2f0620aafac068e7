package comfysim

import (
	"bytes"
	"fmt"
	"image"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/comfygate/comfygate/comfy/comfysim/internal/nodes"
	"github.com/comfygate/comfygate/internal/comfywire"
	"github.com/comfygate/comfygate/internal/imaging"
)

// annotated splits a " [output]"-style suffix off name the way
// folder_paths.annotated_filepath does (a fixed cut that assumes the
// space), returning the directory kind it names ("" for none).
func annotated(name string) (string, string) {
	for _, kind := range []string{"output", "input", "temp"} {
		suffix := "[" + kind + "]"
		if strings.HasSuffix(name, suffix) {
			return name[:max(len(name)-len(suffix)-1, 0)], kind
		}
	}
	return name, ""
}

// handleView is GET /view with ComfyUI's checks in ComfyUI's order: empty
// name 400, leading "/" or ".." anywhere 400, unknown type 400, subfolder
// outside the directory 403, then the base name only, missing file 404.
func (s *Server) handleView(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	if !s.viewDelay(r) {
		return
	}
	q := comfywire.ParseQuery(r.URL.RawQuery)
	raw, ok := q["filename"]
	if !ok {
		comfywire.WriteEmpty(w, http.StatusNotFound)
		return
	}
	filename, kind := annotated(raw[0])
	if filename == "" || filename[0] == '/' || strings.Contains(filename, "..") {
		comfywire.WriteEmpty(w, http.StatusBadRequest)
		return
	}
	if kind == "" {
		kind = "output"
		if t, ok := q["type"]; ok {
			kind = t[0]
		}
	}
	if kind != "output" && kind != "input" && kind != "temp" {
		comfywire.WriteEmpty(w, http.StatusBadRequest)
		return
	}
	dir := s.dir(kind)
	if sub, ok := q["subfolder"]; ok {
		full := nodes.PyJoin(dir, sub[0])
		if !nodes.Within(dir, full) {
			comfywire.WriteEmpty(w, http.StatusForbidden)
			return
		}
		dir = full
	}
	filename = nodes.PyBasename(filename)
	file := nodes.PyJoin(dir, filename)
	st, err := os.Stat(file)
	if err != nil || !st.Mode().IsRegular() {
		comfywire.WriteEmpty(w, http.StatusNotFound)
		return
	}
	if _, ok := q["preview"]; ok {
		s.viewPreview(w, r, file, filename, q.Get("preview"), q.Get("channel"))
		return
	}
	switch q.Get("channel") {
	case "rgb", "a":
		s.viewChannel(w, r, file, filename, q.Get("channel"))
		return
	}
	s.serveFile(w, r, file, filename, st)
}

// viewDelay holds a /view answer for the view delay knob (re-read when
// knobs change); false means the client gave up.
func (s *Server) viewDelay(r *http.Request) bool {
	started := time.Now()
	for {
		changed := s.knobs.Changed()
		d := s.knobs.ViewDelay() - time.Since(started)
		if d <= 0 {
			return true
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
			return true
		case <-changed:
			t.Stop()
		case <-r.Context().Done():
			t.Stop()
			return false
		}
	}
}

func contentDisposition(name string) string { return `filename="` + name + `"` }

// serveFile is aiohttp's FileResponse: Range and conditional requests, an
// ETag of mtime and size, and dangerous types served as octet-stream.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, file, name string, st os.FileInfo) {
	f, err := os.Open(file)
	if err != nil {
		comfywire.WriteEmpty(w, http.StatusNotFound)
		return
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Disposition", contentDisposition(name))
	h.Set("Content-Type", viewContentType(name))
	h.Set("Etag", fmt.Sprintf(`"%x-%x"`, st.ModTime().UnixNano(), st.Size()))
	http.ServeContent(w, r, name, st.ModTime(), f)
}

// viewPreview re-encodes an image: "webp;90" or "jpeg;75" (other formats
// become webp, as does any channel containing "a").
func (s *Server) viewPreview(w http.ResponseWriter, r *http.Request, file, name, preview, channel string) {
	parts := strings.Split(preview, ";")
	format := parts[0]
	if (format != "webp" && format != "jpeg") || strings.Contains(channel, "a") {
		format = "webp"
	}
	quality := 90
	if last := parts[len(parts)-1]; last != "" && isDigits(last) {
		if q, err := strconv.Atoi(last); err == nil {
			quality = q
		}
	}
	work := int64(imaging.WebPWork)
	if format == "jpeg" {
		work = imaging.EncodeWork
	}
	s.reencode(w, r, file, name, "image/"+format, work, func(img image.Image) ([]byte, error) {
		src := imaging.FromImage(img)
		if format == "jpeg" {
			return encoded(func(w io.Writer) error { return imaging.WriteJPEG(w, imaging.Opaque(src), quality) })
		}
		if channel == "rgb" {
			src = imaging.Opaque(src)
		}
		return imaging.EncodeWebP(src)
	})
}

func (s *Server) viewChannel(w http.ResponseWriter, r *http.Request, file, name, channel string) {
	s.reencode(w, r, file, name, "image/png", imaging.EncodeWork, func(img image.Image) ([]byte, error) {
		src := imaging.Opaque(imaging.FromImage(img))
		if channel == "a" {
			src = imaging.AlphaOnly(imaging.FromImage(img))
		}
		return encoded(func(w io.Writer) error { return imaging.WritePNG(w, src, nil) })
	})
}

// encoded is what encode writes, in memory.
func encoded(encode func(io.Writer) error) ([]byte, error) {
	var buf bytes.Buffer
	if err := encode(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// reencode decodes file within the image budget (work bytes a pixel for
// encode), encodes it and answers. Anything that is not an image, or too
// large for the budget, is a 500, as PIL's exception is unhandled. The
// encoded answer stays reserved until it is written.
func (s *Server) reencode(w http.ResponseWriter, r *http.Request, file, name, typ string, work int64,
	encode func(image.Image) ([]byte, error)) {
	f, err := s.reserveImage(r.Context(), file, work, 0)
	if err != nil {
		if r.Context().Err() == nil {
			internalError(w)
		}
		return
	}
	defer f.res.Release()
	img, _, err := f.decode(s.lim)
	if err != nil {
		internalError(w)
		return
	}
	data, err := encode(img)
	if err != nil {
		internalError(w)
		return
	}
	f.res.Keep(int64(len(data)))
	writeImage(w, typ, name, data)
}

func writeImage(w http.ResponseWriter, typ, name string, data []byte) {
	h := w.Header()
	h.Set("Content-Type", typ)
	h.Set("Content-Disposition", contentDisposition(name))
	h.Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	_, _ = bytes.NewReader(data).WriteTo(w)
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// mimeTypes is the part of Python's mimetypes table (plus ComfyUI's two
// additions) that output, input and temp files use.
var mimeTypes = map[string]string{
	".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".jpe": "image/jpeg",
	".gif": "image/gif", ".webp": "image/webp", ".bmp": "image/bmp", ".tif": "image/tiff",
	".tiff": "image/tiff", ".svg": "image/svg+xml", ".ico": "image/vnd.microsoft.icon",
	".mp4": "video/mp4", ".webm": "video/webm", ".mov": "video/quicktime", ".avi": "video/x-msvideo",
	".mkv": "video/x-matroska", ".mp3": "audio/mpeg", ".wav": "audio/x-wav", ".flac": "audio/flac",
	".ogg": "audio/ogg", ".opus": "audio/ogg", ".json": "application/json", ".txt": "text/plain",
	".md": "text/markdown", ".csv": "text/csv", ".xml": "text/xml", ".pdf": "application/pdf",
	".zip": "application/zip", ".html": "text/html", ".htm": "text/html", ".css": "text/css",
	".xhtml": "application/xhtml+xml", ".js": "application/javascript; charset=utf-8",
	".mjs": "text/javascript", ".glb": "model/gltf-binary", ".gltf": "model/gltf+json",
	".obj": "model/obj",
}

// viewContentType is mimetypes.guess_type with ComfyUI's forced downloads.
func viewContentType(name string) string {
	t, ok := mimeTypes[strings.ToLower(filepath.Ext(name))]
	if !ok {
		return "application/octet-stream"
	}
	switch t {
	case "text/html", "text/html-sandboxed", "application/xhtml+xml", "text/javascript", "text/css":
		return "application/octet-stream"
	}
	return t
}
