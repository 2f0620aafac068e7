package ui

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Paths the handler answers.
const (
	// Prefix is where the UI lives. The page's own links are relative, but
	// the redirects below and the asset paths are rooted here.
	Prefix = "/ui/"
	// immutable is the caching of versioned assets: their URL changes
	// whenever any of them does.
	immutable = "public, max-age=31536000, immutable"
	// revalidate is the caching of the index: it names the asset version,
	// so it must be checked on every load (cheaply, with its ETag).
	revalidate = "no-cache"
)

// csp allows this origin's own scripts, styles and API only. Images may be
// data: (live previews arrive base64) and blob: (outputs fetched with an
// API key). Trusted Types with no policy make every HTML-string sink
// (innerHTML and friends) throw, so a string from the API can never become
// markup, whatever a future change to the scripts does.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; " +
	"require-trusted-types-for 'script'; trusted-types 'none'"

// Handler serves the web UI at /ui/, redirects /ui to /ui/ and / to /ui/,
// and answers 404 to anything else. It only needs the native REST API
// (/v1/...) on the same origin.
//
// Mount it on the process's root mux next to the API:
//
//	h := ui.Handler()
//	mux.Handle("/ui/", h)     // the page and its assets (ServeMux sends /ui here)
//	mux.Handle("GET /{$}", h) // the bare host redirects to /ui/
//
// The handler sets its own Content-Security-Policy, X-Content-Type-Options,
// Referrer-Policy and caching headers on every answer; it keeps no state
// and starts no goroutines, so it may be shared freely.
func Handler() http.Handler {
	b, err := loadBundle(static, "static")
	if err != nil {
		// The files are compiled in and checked by this package's tests:
		// a built binary cannot get here.
		panic("ui: " + err.Error())
	}
	return &handler{b: b}
}

type handler struct {
	b *bundle
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header())
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		plainError(w, http.StatusMethodNotAllowed, "method not allowed: use GET")
		return
	}
	switch p := r.URL.Path; p {
	case "/":
		// Found, not Moved Permanently: browsers remember a 301 for good,
		// and the root may serve something else one day.
		http.Redirect(w, r, Prefix, http.StatusFound)
	case strings.TrimSuffix(Prefix, "/"):
		http.Redirect(w, r, Prefix, http.StatusMovedPermanently)
	case Prefix:
		serveAsset(w, r, h.b.index, revalidate)
	default:
		rest, ok := strings.CutPrefix(p, Prefix+h.b.version+"/")
		a := h.b.assets[rest]
		if !ok || a == nil {
			plainError(w, http.StatusNotFound, "404 page not found")
			return
		}
		serveAsset(w, r, a, immutable)
	}
}

func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}

func plainError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, msg, status)
}

// serveAsset answers with a, gzipped when the client takes it, with
// conditional requests and ranges handled by http.ServeContent.
func serveAsset(w http.ResponseWriter, r *http.Request, a *asset, cache string) {
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("Cache-Control", cache)
	body, etag := a.body, a.etag
	if a.gz != nil {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			body, etag = a.gz, strings.TrimSuffix(a.etag, `"`)+`-gz"`
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// acceptsGzip reads an Accept-Encoding value: gzip (or *) listed without
// q=0.
func acceptsGzip(v string) bool {
	for part := range strings.SplitSeq(v, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "*" {
			continue
		}
		return qualityOf(params) > 0
	}
	return false
}

func qualityOf(params string) float64 {
	for p := range strings.SplitSeq(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return 0
			}
			return q
		}
	}
	return 1
}
