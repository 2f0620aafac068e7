package comfyapi

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/internal/artifact"
	"github.com/comfygate/comfygate/internal/job"
)

// uploadForm is aiohttp's request.post() as the upload routes read it: the
// first value of each text field, and the "image" file, already stored.
type uploadForm struct {
	fields   map[string]string
	hasImage bool // an "image" field was sent
	isFile   bool // ... and it was a file part
	filename string
	blob     artifact.Info
}

// maxFieldBytes bounds one text field of an upload form, maxFormText all
// of them together (the form is held in memory; the file is not).
const (
	maxFieldBytes = 1 << 20
	maxFormText   = 4 << 20
)

// readUploadForm parses a multipart or urlencoded body within the upload
// limit, streaming the image into the artifact store as it arrives.
func (h *Handler) readUploadForm(ctx context.Context, w http.ResponseWriter, r *http.Request) (*uploadForm, error) {
	r.Body = http.MaxBytesReader(w, r.Body, h.cfg.MaxUploadBytes)
	f := &uploadForm{fields: map[string]string{}}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "multipart/form-data":
		return f, h.readMultipart(ctx, r, f)
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return nil, err
		}
		for k, v := range r.PostForm {
			f.fields[k] = v[0]
			f.hasImage = f.hasImage || k == "image"
		}
	}
	return f, nil
}

func (h *Handler) readMultipart(ctx context.Context, r *http.Request, f *uploadForm) error {
	mr, err := r.MultipartReader()
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	text := 0
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := part.FormName()
		if seen[name] || name == "" {
			continue // aiohttp keeps the first value
		}
		seen[name] = true
		// FileName() strips directories; ComfyUI sees the raw name.
		_, params, _ := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
		filename, isFile := params["filename"]
		if name == "image" {
			f.hasImage, f.isFile, f.filename = true, isFile, filename
			if isFile {
				if f.blob, err = h.cfg.Artifacts.Put(ctx, part, artifact.PutOptions{MaxSize: h.cfg.MaxUploadBytes, Name: filename}); err != nil {
					return err
				}
				continue
			}
		}
		b, err := io.ReadAll(io.LimitReader(part, maxFieldBytes))
		if err != nil {
			return err
		}
		if text += len(b); text > maxFormText {
			return errBodyTooLarge
		}
		f.fields[name] = string(b)
	}
}

func (h *Handler) uploadImage(c *call) error { return h.upload(c, false) }
func (h *Handler) uploadMask(c *call) error  { return h.upload(c, true) }

// upload is ComfyUI's image_upload: type defaults to input, an existing
// name with the same bytes is reused, other bytes get "name (1).png", and
// only overwrite "true" or "1" replaces. Files land in the owner's own
// directories in the store, usable by LoadImage on any backend.
func (h *Handler) upload(c *call, mask bool) error {
	ctx := c.r.Context()
	f, err := h.readUploadForm(ctx, c.w, c.r)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig) || errors.Is(err, artifact.ErrTooLarge):
		return errBodyTooLarge
	case err != nil && ctx.Err() != nil:
		return ctx.Err() // the client went away, or its body stopped arriving
	case err != nil:
		return errPython
	}
	typ, ok := f.fields["type"]
	if !ok {
		typ = comfy.FileTypeInput
	}
	if typ != comfy.FileTypeInput && typ != comfy.FileTypeTemp && typ != comfy.FileTypeOutput {
		return errPython // UnboundLocalError in ComfyUI's get_dir_by_type
	}
	switch {
	case !f.hasImage:
		return statusOnly(http.StatusBadRequest)
	case !f.isFile:
		return errPython // a text field has no .file
	}
	sub, subOK := cleanSub(f.fields["subfolder"])
	if f.filename == "" || !subOK || strings.ContainsAny(f.filename, "/\\\x00") || strings.ContainsRune(sub, 0) ||
		strings.Trim(f.filename, ".") == "" {
		return statusOnly(http.StatusBadRequest)
	}
	blob := f.blob
	if mask {
		var write bool
		var large *imageTooLarge
		if blob, write, err = h.maskedBlob(ctx, c.owner, f); errors.As(err, &large) {
			return err
		} else if err != nil {
			return errPython
		}
		if !write {
			// ComfyUI ignores an original_ref it cannot use and still
			// answers with a name, having written nothing.
			writeJSON(c.w, http.StatusOK, comfy.UploadResult{Name: f.filename, Subfolder: f.fields["subfolder"], Type: typ})
			return nil
		}
	}
	overwrite := f.fields["overwrite"] == "true" || f.fields["overwrite"] == "1"
	name, err := h.names.uploadName(ctx, &job.ComfyFile{Owner: c.owner, Type: typ, Subfolder: sub, ArtifactID: blob.ID}, f.filename, overwrite)
	if err != nil {
		return failed("storing the upload", err)
	}
	a := &job.Artifact{ID: blob.ID, ContentType: blob.ContentType, Size: blob.Size, Owner: c.owner, Filename: name, Kind: job.ArtifactInput}
	if err := h.store.PutArtifact(ctx, a); err != nil {
		return failed("recording the upload", err)
	}
	writeJSON(c.w, http.StatusOK, comfy.UploadResult{Name: name, Subfolder: f.fields["subfolder"], Type: typ})
	return nil
}

// uploadName stores the upload f under want or the name ComfyUI would
// pick, and returns it.
func (n *Names) uploadName(ctx context.Context, f *job.ComfyFile, want string, overwrite bool) (string, error) {
	if overwrite {
		f.Filename = want
		return want, n.store.PutComfyFile(ctx, f)
	}
	stem, ext := splitExt(want)
	for i := range maxRenames {
		name := want
		if i > 0 {
			name = stem + " (" + itoa(i) + ")" + ext
		}
		prev, err := n.store.GetComfyFile(ctx, f.Owner, f.Type, f.Subfolder, name)
		switch {
		case err == nil:
			if art, ok, _ := n.blobOf(ctx, prev); ok && art == f.ArtifactID {
				return name, nil // the same bytes: nothing new to store
			}
			continue
		case !errors.Is(err, job.ErrNotFound):
			return "", err
		}
		f.Filename = name
		err = n.store.CreateComfyFile(ctx, f)
		if err == nil {
			return name, nil
		}
		if !errors.Is(err, job.ErrConflict) {
			return "", err
		}
	}
	return "", errors.New("no free upload name")
}

// maskedBlob applies the uploaded mask's alpha to the image original_ref
// names and stores the result. write is false when ComfyUI would silently
// write nothing (a reference it cannot resolve).
func (h *Handler) maskedBlob(ctx context.Context, owner string, f *uploadForm) (artifact.Info, bool, error) {
	ref, err := decodeJSON([]byte(f.fields["original_ref"]))
	if err != nil {
		return artifact.Info{}, false, err // json.loads raises: 500
	}
	obj, ok := ref.(map[string]any)
	if !ok {
		return artifact.Info{}, false, errPyType
	}
	name, ok := obj["filename"].(string)
	if _, present := obj["filename"]; !present {
		return artifact.Info{}, false, errPyType // KeyError
	}
	typ, _ := obj["type"].(string)
	sub, _ := obj["subfolder"].(string)
	q := parseViewQuery(name, typ, sub, typ != "")
	if !ok || !q.ok() {
		return artifact.Info{}, false, nil
	}
	orig, ok, err := h.openFile(ctx, owner, q)
	if err != nil || !ok {
		return artifact.Info{}, false, err
	}
	defer orig.Close()
	mask, err := h.cfg.Artifacts.Open(ctx, f.blob.ID)
	if err != nil {
		return artifact.Info{}, false, err
	}
	defer mask.Close()
	var info artifact.Info
	err = h.mergeMask(ctx, orig, mask, func(r io.Reader) error {
		var err error
		info, err = h.cfg.Artifacts.Put(ctx, r, artifact.PutOptions{ContentType: "image/png"})
		return err
	})
	return info, err == nil, err
}
