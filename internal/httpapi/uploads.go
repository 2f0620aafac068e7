package httpapi

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/comfygate/comfygate/api"
)

// upload takes a multipart form with a "file" field, or the file itself as
// the body with its own Content-Type and ?filename=. Either way the file is
// streamed to the service through a counting reader; nothing is buffered
// whole, and the size limit holds whatever Content-Length says.
func (s *Server) upload(w http.ResponseWriter, r *http.Request) error {
	limit := s.cfg.MaxUploadBytes
	if r.ContentLength > limit+multipartSlack {
		return uploadTooLarge(limit)
	}
	src, filename, ctype, err := uploadSource(r)
	if err != nil {
		return err
	}
	capped := &capReader{r: src, left: limit}
	up, err := s.svc.Upload(r.Context(), ownerOf(r), capped, cleanFilename(filename), ctype)
	var tooLarge *http.MaxBytesError
	if capped.exceeded || errors.As(err, &tooLarge) {
		return uploadTooLarge(limit)
	}
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/artifacts/"+url.PathEscape(up.ID))
	return writeJSON(w, http.StatusCreated, up)
}

func uploadTooLarge(limit int64) error {
	return &Error{Status: http.StatusRequestEntityTooLarge, Code: api.CodeTooLarge, Field: "file",
		Message: fmt.Sprintf("the file is larger than the upload limit of %d bytes", limit)}
}

func uploadSource(r *http.Request) (src io.Reader, filename, ctype string, err error) {
	raw := r.Header.Get("Content-Type")
	mt, _, perr := mime.ParseMediaType(raw)
	switch {
	case raw == "":
		return nil, "", "", unsupportedMedia("Content-Type is required: multipart/form-data with a file field, or the file's own type")
	case perr != nil:
		return nil, "", "", badRequest("Content-Type", "is not a valid media type")
	case mt == "multipart/form-data":
		return filePart(r)
	case mt == "application/x-www-form-urlencoded":
		return nil, "", "", unsupportedMedia("send multipart/form-data, or the file as the body with its own Content-Type")
	}
	return r.Body, r.URL.Query().Get("filename"), mt, nil
}

// filePart skips to the "file" field of a multipart body.
func filePart(r *http.Request) (io.Reader, string, string, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, "", "", badRequest("body", "malformed multipart body: %v", err)
	}
	for {
		part, err := mr.NextPart()
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			return nil, "", "", err
		case err == io.EOF:
			return nil, "", "", badRequest("file", "the multipart body has no file field")
		case err != nil:
			return nil, "", "", badRequest("body", "malformed multipart body: %v", err)
		}
		if part.FormName() == "file" {
			return part, partFilename(part), partType(part), nil
		}
	}
}

func partFilename(p *multipart.Part) string {
	if name := p.FileName(); name != "" {
		return name
	}
	return "upload"
}

func partType(p *multipart.Part) string {
	if mt, _, err := mime.ParseMediaType(p.Header.Get("Content-Type")); err == nil {
		return mt
	}
	return "application/octet-stream"
}

func unsupportedMedia(msg string) *Error {
	return &Error{Status: http.StatusUnsupportedMediaType, Code: api.CodeUnsupportedMedia, Field: "Content-Type", Message: msg}
}

// capReader fails the read that goes past the limit and remembers it, so
// the answer is 413 however the service wrapped the error.
type capReader struct {
	r        io.Reader
	left     int64
	exceeded bool
}

var errUploadTooLarge = errors.New("upload over the size limit")

func (c *capReader) Read(p []byte) (int, error) {
	if c.exceeded {
		return 0, errUploadTooLarge
	}
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	if c.left -= int64(n); c.left < 0 {
		c.exceeded = true
		return 0, errUploadTooLarge
	}
	return n, err
}

// cleanFilename keeps the last path element of a client's name, without
// control characters, at most maxFilenameLen bytes: the name is metadata
// and a download name, and must never look like a path.
func cleanFilename(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, name))
	for len(name) > maxFilenameLen {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	if name == "" || name == "." || name == ".." {
		return "upload"
	}
	return name
}
