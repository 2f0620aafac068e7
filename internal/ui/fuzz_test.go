package ui

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
)

// FuzzServe sends arbitrary paths and headers: the handler must answer
// with one of its statuses and its security headers, never panic.
func FuzzServe(f *testing.F) {
	h := Handler()
	b := testBundle(f)
	for _, p := range []string{"/", "/ui", "/ui/", "/ui/" + b.version + "/js/main.js", "/ui/../etc/passwd", "/ui/v-/x", "/ui//"} {
		f.Add(p, "gzip")
	}
	f.Fuzz(func(t *testing.T, path, acceptEncoding string) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL.Path = path
		req.Header.Set("Accept-Encoding", acceptEncoding)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK, http.StatusFound, http.StatusMovedPermanently, http.StatusNotFound:
		default:
			t.Fatalf("%q: status %d", path, rec.Code)
		}
		if rec.Header().Get("Content-Security-Policy") != csp {
			t.Fatalf("%q: no CSP", path)
		}
	})
}

// FuzzAcceptsGzip feeds the header parser arbitrary input.
func FuzzAcceptsGzip(f *testing.F) {
	for _, s := range []string{"gzip", "gzip;q=0", "br, gzip;q=0.5", ";;;", "gzip;q=", "*;q=1e400"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		_ = acceptsGzip(v)
	})
}

// TestIndexHasNoInlineCode keeps the page within its CSP: no inline
// scripts, handlers or styles, which the policy would refuse.
func TestIndexHasNoInlineCode(t *testing.T) {
	page := string(testBundle(t).index.body)
	for name, re := range map[string]*regexp.Regexp{
		"inline script":  regexp.MustCompile(`<script(?:\s+type="module")?>`),
		"event handler":  regexp.MustCompile(`\son[a-z]+\s*=`),
		"style attr":     regexp.MustCompile(`\sstyle\s*=`),
		"style element":  regexp.MustCompile(`<style`),
		"javascript URL": regexp.MustCompile(`(?i)javascript:`),
	} {
		if loc := re.FindStringIndex(page); loc != nil {
			t.Errorf("index.html has an %s near %q", name, excerpt(page, loc[0]))
		}
	}
}
