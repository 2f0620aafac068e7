package httpapi

import (
	"bytes"
	"embed"
	"mime"
	"net/http"
	"path"
	"time"

	"github.com/comfygate/comfygate/api"
)

// docsFS holds Swagger UI (see docs/README.md): the docs page must work on
// a machine with no internet, so nothing is loaded from a CDN.
//
//go:embed docs/index.html docs/init.js docs/swagger-ui-bundle.js docs/swagger-ui.css
var docsFS embed.FS

// docsCSP lets the page load only its own files and this server's
// document; Swagger UI needs inline styles and data: images.
const docsCSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"

func (s *Server) docsIndex(w http.ResponseWriter, r *http.Request) error {
	return serveDocsFile(w, r, "index.html")
}

func (s *Server) docsAsset(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("file")
	if name == "index.html" || path.Base(name) != name {
		return &Error{Status: http.StatusNotFound, Code: api.CodeNotFound, Field: "file", Message: "no such docs file"}
	}
	return serveDocsFile(w, r, name)
}

func (s *Server) docsSlash(w http.ResponseWriter, r *http.Request) error {
	http.Redirect(w, r, "/docs", http.StatusMovedPermanently)
	return nil
}

func serveDocsFile(w http.ResponseWriter, r *http.Request, name string) error {
	data, err := docsFS.ReadFile("docs/" + name)
	if err != nil {
		return &Error{Status: http.StatusNotFound, Code: api.CodeNotFound, Field: "file", Message: "no such docs file"}
	}
	h := w.Header()
	h.Set("Content-Type", mime.TypeByExtension(path.Ext(name)))
	h.Set("Content-Security-Policy", docsCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", etagOf(data))
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(data))
	return nil
}
