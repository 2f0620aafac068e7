package comfysim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/comfy/comfysim/internal/nodes"
	"github.com/comfygate/comfygate/internal/comfywire"
)

// formFile is one uploaded file part.
type formFile struct {
	filename string
	data     []byte
}

// form is aiohttp's request.post(): the first value of each field, which is
// either a string or a *formFile.
type form map[string]any

func (f form) str(name string) (string, bool) {
	s, ok := f[name].(string)
	return s, ok
}

// readForm parses a multipart or urlencoded body within the upload limit.
// Other content types give an empty form, as in aiohttp.
func (s *Server) readForm(w http.ResponseWriter, r *http.Request) (form, error) {
	r.Body = http.MaxBytesReader(w, r.Body, s.opts.maxUploadBytes())
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	f := form{}
	switch ct {
	case "multipart/form-data":
		return f, readMultipart(r, f)
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return nil, err
		}
		for k, v := range r.PostForm {
			f[k] = v[0]
		}
	}
	return f, nil
}

func readMultipart(r *http.Request, f form) error {
	mr, err := r.MultipartReader()
	if err != nil {
		return err
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		data, err := io.ReadAll(part)
		if err != nil {
			return err
		}
		name := part.FormName()
		if _, seen := f[name]; seen || name == "" {
			continue
		}
		// FileName() strips directories; ComfyUI sees the raw name.
		_, params, _ := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
		if filename, isFile := params["filename"]; isFile {
			f[name] = &formFile{filename: filename, data: data}
		} else {
			f[name] = string(data)
		}
	}
}

func (s *Server) handleUploadImage(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	s.upload(w, r, nil)
}

func (s *Server) handleUploadMask(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	s.upload(w, r, s.saveMask)
}

// saveFunc writes an upload somewhere other than verbatim (the mask route).
type saveFunc func(ctx context.Context, f form, upload *formFile, path string) error

// upload is image_upload.
func (s *Server) upload(w http.ResponseWriter, r *http.Request, save saveFunc) {
	f, err := s.readForm(w, r)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			err = comfywire.ErrBodyTooLarge
		}
		s.bodyError(w, r, err)
		return
	}
	typ := "input"
	if v, ok := f["type"]; ok {
		typ, _ = v.(string)
	}
	if typ != "input" && typ != "temp" && typ != "output" {
		internalError(w) // UnboundLocalError in get_dir_by_type
		return
	}
	img, present := f["image"]
	if !present {
		comfywire.WriteEmpty(w, http.StatusBadRequest)
		return
	}
	file, isFile := img.(*formFile)
	if !isFile {
		internalError(w) // a text field has no .file
		return
	}
	name, status := s.storeUpload(r.Context(), f, file, typ, save)
	if status != http.StatusOK {
		if status == http.StatusInternalServerError {
			internalError(w)
		} else {
			comfywire.WriteEmpty(w, status)
		}
		return
	}
	sub, _ := f.str("subfolder")
	writeJSON(w, http.StatusOK, comfy.UploadResult{Name: name, Subfolder: sub, Type: typ})
}

// storeUpload applies ComfyUI's naming: an existing file with the same bytes
// is reused, otherwise "name (1).ext", "name (2).ext"...; overwrite only with
// "true" or "1".
func (s *Server) storeUpload(ctx context.Context, f form, file *formFile, typ string, save saveFunc) (string, int) {
	filename := file.filename
	if filename == "" {
		return "", http.StatusBadRequest
	}
	uploadDir := s.dir(typ)
	sub, _ := f.str("subfolder")
	folder := nodes.PyJoin(uploadDir, nodes.PyNormpath(sub))
	path, _ := filepath.Abs(nodes.PyJoin(folder, filename))
	if !nodes.Within(uploadDir, path) {
		return "", http.StatusBadRequest
	}
	if err := os.MkdirAll(folder, 0o755); err != nil {
		return "", http.StatusInternalServerError
	}
	overwrite, _ := f.str("overwrite")
	duplicate := false
	if overwrite != "true" && overwrite != "1" {
		base, ext := pySplitext(filename)
		for i := 1; exists(path); i++ {
			if same, err := sameContent(path, file.data); err != nil {
				return "", http.StatusInternalServerError
			} else if same {
				duplicate = true
				break
			}
			filename = fmt.Sprintf("%s (%d)%s", base, i, ext)
			path = nodes.PyJoin(folder, filename)
		}
	}
	if duplicate {
		return filename, http.StatusOK
	}
	var err error
	if save != nil {
		err = save(ctx, f, file, path)
	} else {
		err = os.WriteFile(path, file.data, 0o644)
	}
	if err != nil {
		return "", http.StatusInternalServerError
	}
	return filename, http.StatusOK
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func sameContent(path string, data []byte) (bool, error) {
	existing, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	return bytes.Equal(existing, data), nil
}

// pySplitext is os.path.splitext: leading dots of the base name do not
// start an extension.
func pySplitext(p string) (string, string) {
	base := nodes.PyBasename(p)
	dot := strings.LastIndexByte(base, '.')
	if dot <= 0 || strings.Trim(base[:dot], ".") == "" {
		return p, ""
	}
	cut := len(p) - len(base) + dot
	return p[:cut], p[cut:]
}
