package httpapi

import (
	"github.com/comfygate/comfygate/internal/gateway"

	"mime"
	"net/http"
	"strings"
)

// artifact streams a stored file with http.ServeContent, which answers
// Range, If-Range, If-None-Match (on the ETag set here) and HEAD. Files
// come from users and models, so the browser is told to trust nothing:
// no sniffing, a sandboxing CSP, and only plainly passive types inline.
func (s *Server) artifact(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	a, err := s.svc.OpenArtifact(r.Context(), ownerOf(r), id)
	if err != nil {
		return err
	}
	defer a.Close()
	ctype := a.ContentType()
	if _, _, err := mime.ParseMediaType(ctype); err != nil {
		ctype = "application/octet-stream"
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Content-Disposition", disposition(ctype, a.Name()))
	// Content-addressed and owner-scoped: never changes, never shared.
	h.Set("Cache-Control", "private, max-age=31536000, immutable")
	if tag := quoteETag(a.ETag()); tag != "" {
		h.Set("ETag", tag)
	}
	http.ServeContent(w, r, "", a.ModTime(), a)
	return nil
}

// artifactLink hands out a presigned download URL of a file the caller
// may read (S3 stores only).
func (s *Server) artifactLink(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	expires, err := parseDurationParam(r, "expires", gateway.MaxLinkExpiry)
	if err != nil {
		return err
	}
	link, err := s.svc.LinkArtifact(r.Context(), ownerOf(r), id, expires)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, link)
}

// inlineTypes are shown in the browser; anything else is a download, so a
// stored HTML or SVG file can never run script on our origin.
var inlineTypes = map[string]bool{
	"image/png": true, "image/jpeg": true, "image/webp": true, "image/gif": true,
	"image/avif": true, "image/bmp": true, "text/plain": true, "application/json": true,
}

func disposition(ctype, name string) string {
	mt, _, _ := mime.ParseMediaType(ctype)
	kind := "attachment"
	if inlineTypes[mt] || strings.HasPrefix(mt, "video/") || strings.HasPrefix(mt, "audio/") {
		kind = "inline"
	}
	if v := mime.FormatMediaType(kind, map[string]string{"filename": cleanFilename(name)}); v != "" {
		return v
	}
	return kind
}

func quoteETag(tag string) string {
	if tag == "" || strings.HasPrefix(tag, `"`) || strings.HasPrefix(tag, `W/"`) {
		return tag
	}
	return `"` + strings.Map(func(r rune) rune {
		if r == '"' || r < 0x21 || r > 0x7e {
			return -1
		}
		return r
	}, tag) + `"`
}
