package comfyapi

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/internal/artifact"
	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/workflow"
)

// viewQuery is a parsed GET /view (or /upload/mask original_ref): which
// file of the caller's directories it names, or the status ComfyUI
// refuses it with.
type viewQuery struct {
	status  int // 0 when the file may be looked up; else 400, 403 or 404
	typ     string
	sub     string
	name    string
	preview string // "webp;90", "" for none
	hasPrev bool
	channel string
}

func (q viewQuery) ok() bool { return q.status == 0 }

// parseView reads a raw query string with ComfyUI's checks, in its order:
// no filename 404; empty, leading "/" or ".." anywhere 400; unknown type
// 400; a subfolder leaving its directory 403; then only the base name of
// filename counts. The query is split on "&" only (see parseQuery).
func parseView(raw string) viewQuery {
	q := parseQuery(raw)
	names, ok := q["filename"]
	if !ok {
		return viewQuery{status: http.StatusNotFound}
	}
	typ, hasType := "", false
	if t, ok := q["type"]; ok {
		typ, hasType = t[0], true
	}
	sub := ""
	if s, ok := q["subfolder"]; ok {
		sub = s[0]
	}
	v := parseViewQuery(names[0], typ, sub, hasType)
	if p, ok := q["preview"]; ok {
		v.preview, v.hasPrev = p[0], true
	}
	if c, ok := q["channel"]; ok {
		v.channel = c[0]
	}
	return v
}

// parseViewQuery applies the checks to one file reference.
func parseViewQuery(filename, typ, sub string, hasType bool) viewQuery {
	name, kind := workflow.SplitAnnotated(filename)
	if name == "" || name[0] == '/' || strings.Contains(name, "..") {
		return viewQuery{status: http.StatusBadRequest}
	}
	if kind == "" {
		kind = comfy.FileTypeOutput
		if hasType {
			kind = typ
		}
	}
	if kind != comfy.FileTypeOutput && kind != comfy.FileTypeInput && kind != comfy.FileTypeTemp {
		return viewQuery{status: http.StatusBadRequest}
	}
	clean, ok := cleanSub(sub)
	if !ok {
		return viewQuery{status: http.StatusForbidden}
	}
	base := path.Base(name)
	if strings.ContainsRune(base, 0) || strings.ContainsRune(clean, 0) {
		return viewQuery{status: http.StatusNotFound} // no such file can exist
	}
	return viewQuery{typ: kind, sub: clean, name: base}
}

// view is GET /view: the caller's uploads and outputs from the artifact
// store (Range and conditional requests work), with ComfyUI's preview=
// and channel= re-encodes. An output whose job is still running is read
// from the backend that wrote it.
func (h *Handler) view(c *call) error {
	q := parseView(c.r.URL.RawQuery)
	if !q.ok() {
		return statusOnly(q.status)
	}
	ctx := c.r.Context()
	f, err := h.store.GetComfyFile(ctx, c.owner, q.typ, q.sub, q.name)
	if errors.Is(err, job.ErrNotFound) {
		return statusOnly(http.StatusNotFound)
	}
	if err != nil {
		return failed("looking up the file", err)
	}
	art, ok, err := h.names.blobOf(ctx, f)
	switch {
	case err != nil:
		return failed("looking up the file", err)
	case ok:
		return h.serveBlob(c, art, q)
	case f.Backend != "":
		return h.viewOnBackend(c, f, q)
	}
	return statusOnly(http.StatusNotFound)
}

func (h *Handler) serveBlob(c *call, id string, q viewQuery) error {
	b, err := h.cfg.Artifacts.Open(c.r.Context(), id)
	if errors.Is(err, artifact.ErrNotFound) {
		return statusOnly(http.StatusNotFound)
	}
	if err != nil {
		return failed("opening the file", err)
	}
	defer b.Close()
	if q.hasPrev || q.channel == "rgb" || q.channel == "a" {
		return h.reencode(c.w, c.r.Context(), b, q)
	}
	hd := c.w.Header()
	hd.Set("Content-Disposition", contentDisposition(q.name))
	hd.Set("Content-Type", viewContentType(q.name))
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Etag", `"`+id+`"`)
	http.ServeContent(c.w, c.r, q.name, b.ModTime(), b)
	return nil
}

// openFile opens the blob behind a reference of the caller's, if stored.
func (h *Handler) openFile(ctx context.Context, owner string, q viewQuery) (artifact.Blob, bool, error) {
	f, err := h.store.GetComfyFile(ctx, owner, q.typ, q.sub, q.name)
	if errors.Is(err, job.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	id, ok, err := h.names.blobOf(ctx, f)
	if err != nil || !ok {
		return nil, false, err
	}
	b, err := h.cfg.Artifacts.Open(ctx, id)
	if errors.Is(err, artifact.ErrNotFound) {
		return nil, false, nil
	}
	return b, err == nil, err
}

// contentDisposition is ComfyUI's inline `filename="<name>"`; names come
// from this surface's own table, but quotes and control characters are
// still kept out of the header.
func contentDisposition(name string) string {
	return `filename="` + artifact.SafeFilename(name, "file") + `"`
}

// viewContentType is Python's mimetypes guess with ComfyUI's forced
// downloads: types a browser would run are served as octet-stream.
func viewContentType(name string) string {
	t, ok := viewTypes[strings.ToLower(path.Ext(name))]
	if !ok {
		return "application/octet-stream"
	}
	return t
}

var viewTypes = map[string]string{
	".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
	".webp": "image/webp", ".bmp": "image/bmp", ".tif": "image/tiff", ".tiff": "image/tiff",
	".mp4": "video/mp4", ".webm": "video/webm", ".mov": "video/quicktime", ".mkv": "video/x-matroska",
	".avi": "video/x-msvideo", ".mp3": "audio/mpeg", ".wav": "audio/x-wav", ".flac": "audio/flac",
	".ogg": "audio/ogg", ".opus": "audio/ogg", ".json": "application/json", ".txt": "text/plain",
	".csv": "text/csv", ".pdf": "application/pdf", ".zip": "application/zip",
	".glb": "model/gltf-binary", ".gltf": "model/gltf+json", ".obj": "model/obj",
	".latent": "application/octet-stream", ".safetensors": "application/octet-stream",
}

// viewURL is the backend /view URL of a file it wrote, with the caller's
// re-encode options.
func viewURL(base string, f *job.ComfyFile, q viewQuery) string {
	v := url.Values{}
	v.Set("filename", f.OriginFilename)
	v.Set("subfolder", f.OriginSubfolder)
	v.Set("type", f.OriginType)
	raw := v.Encode()
	if q.hasPrev {
		raw += "&preview=" + url.QueryEscape(q.preview)
	}
	if q.channel != "" {
		raw += "&channel=" + url.QueryEscape(q.channel)
	}
	return strings.TrimRight(base, "/") + "/view?" + raw
}

func itoa(i int) string { return strconv.Itoa(i) }
