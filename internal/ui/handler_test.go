package ui

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

// get runs one request against a fresh handler.
func get(tb testing.TB, method, target string, hdr map[string]string) *http.Response {
	tb.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, req)
	return rec.Result()
}

func body(tb testing.TB, res *http.Response) string {
	tb.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func testBundle(tb testing.TB) *bundle {
	tb.Helper()
	b, err := loadBundle(static, "static")
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// checkSecurity asserts the headers every answer must carry.
func checkSecurity(tb testing.TB, res *http.Response) {
	tb.Helper()
	want := map[string]string{
		"Content-Security-Policy": csp,
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"X-Frame-Options":         "DENY",
	}
	for k, v := range want {
		if got := res.Header.Get(k); got != v {
			tb.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

func TestCSPIsStrict(t *testing.T) {
	for _, want := range []string{"default-src 'self'", "img-src 'self' data: blob:", "script-src 'self'",
		"style-src 'self'", "object-src 'none'", "frame-ancestors 'none'", "require-trusted-types-for 'script'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP lacks %q: %s", want, csp)
		}
	}
	if strings.Contains(csp, "unsafe-") {
		t.Errorf("CSP allows something unsafe: %s", csp)
	}
}

func TestIndex(t *testing.T) {
	b := testBundle(t)
	res := get(t, http.MethodGet, "/ui/", nil)
	page := body(t, res)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d", res.StatusCode)
	}
	checkSecurity(t, res)
	for k, v := range map[string]string{"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache"} {
		if got := res.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if res.Header.Get("ETag") == "" {
		t.Error("no ETag: the index cannot be revalidated cheaply")
	}
	if strings.Contains(page, versionMark) {
		t.Errorf("index still holds %s", versionMark)
	}
	if want := `src="` + b.version + `/js/main.js"`; !strings.Contains(page, want) {
		t.Errorf("index does not load %s", want)
	}
}

// TestAssets fetches every file the index names, and every file of the
// bundle, at its versioned path.
func TestAssets(t *testing.T) {
	b := testBundle(t)
	page := body(t, get(t, http.MethodGet, "/ui/", nil))
	refs := regexp.MustCompile(`(?:href|src)="(v-[0-9a-f]+/[^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(refs) < 3 {
		t.Fatalf("index names %d assets, want the icon, stylesheet and scripts", len(refs))
	}
	paths := map[string]bool{}
	for _, r := range refs {
		paths["/ui/"+r[1]] = true
	}
	for name := range b.assets {
		paths["/ui/"+b.version+"/"+name] = true
	}
	wantType := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
	for p := range paths {
		t.Run(p, func(t *testing.T) {
			res := get(t, http.MethodGet, p, nil)
			got := body(t, res)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d", res.StatusCode)
			}
			checkSecurity(t, res)
			ext := p[strings.LastIndex(p, "."):]
			if want := wantType[ext]; want != "" && res.Header.Get("Content-Type") != want {
				t.Errorf("Content-Type = %q, want %q", res.Header.Get("Content-Type"), want)
			}
			if cc := res.Header.Get("Cache-Control"); cc != immutable {
				t.Errorf("Cache-Control = %q, want %q", cc, immutable)
			}
			if a := b.assets[strings.TrimPrefix(p, "/ui/"+b.version+"/")]; a == nil || got != string(a.body) {
				t.Error("body differs from the embedded file")
			}
		})
	}
}

func TestRoutes(t *testing.T) {
	b := testBundle(t)
	tests := []struct {
		name, method, path string
		status             int
		location           string
	}{
		{"root redirects", http.MethodGet, "/", http.StatusFound, "/ui/"},
		{"ui without slash", http.MethodGet, "/ui", http.StatusMovedPermanently, "/ui/"},
		{"head index", http.MethodHead, "/ui/", http.StatusOK, ""},
		{"unknown path", http.MethodGet, "/ui/nope.js", http.StatusNotFound, ""},
		{"old version", http.MethodGet, "/ui/v-0000000000000000/js/main.js", http.StatusNotFound, ""},
		{"unversioned asset", http.MethodGet, "/ui/js/main.js", http.StatusNotFound, ""},
		{"index by name", http.MethodGet, "/ui/" + b.version + "/index.html", http.StatusNotFound, ""},
		{"outside prefix", http.MethodGet, "/elsewhere", http.StatusNotFound, ""},
		{"version dir", http.MethodGet, "/ui/" + b.version + "/", http.StatusNotFound, ""},
		{"post", http.MethodPost, "/ui/", http.StatusMethodNotAllowed, ""},
		{"delete asset", http.MethodDelete, "/ui/" + b.version + "/app.css", http.StatusMethodNotAllowed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := get(t, tt.method, tt.path, nil)
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.status)
			}
			checkSecurity(t, res)
			if got := res.Header.Get("Location"); got != tt.location {
				t.Errorf("Location = %q, want %q", got, tt.location)
			}
			if tt.status >= 400 && res.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("error answer Cache-Control = %q, want no-store", res.Header.Get("Cache-Control"))
			}
			if tt.status == http.StatusMethodNotAllowed && res.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow = %q", res.Header.Get("Allow"))
			}
		})
	}
}

func TestConditionalGet(t *testing.T) {
	res := get(t, http.MethodGet, "/ui/", nil)
	tag := res.Header.Get("ETag")
	again := get(t, http.MethodGet, "/ui/", map[string]string{"If-None-Match": tag})
	if again.StatusCode != http.StatusNotModified {
		t.Fatalf("status %d, want 304", again.StatusCode)
	}
}

func TestGzip(t *testing.T) {
	b := testBundle(t)
	a := b.assets["js/main.js"]
	if a == nil || a.gz == nil {
		t.Fatal("main.js has no gzipped copy")
	}
	p := "/ui/" + b.version + "/js/main.js"
	res := get(t, http.MethodGet, p, map[string]string{"Accept-Encoding": "br, gzip"})
	if res.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(res.Header.Get("Vary"), "Accept-Encoding") {
		t.Fatalf("Content-Encoding %q, Vary %q", res.Header.Get("Content-Encoding"), res.Header.Get("Vary"))
	}
	zr, err := gzip.NewReader(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(plain, a.body) {
		t.Error("gzipped body does not decompress to the file")
	}
	if res.Header.Get("ETag") == a.etag {
		t.Error("gzipped and plain copies share an ETag")
	}
	if res := get(t, http.MethodGet, p, nil); res.Header.Get("Content-Encoding") != "" {
		t.Error("gzip sent to a client that did not ask")
	}
}

func TestAcceptsGzip(t *testing.T) {
	tests := map[string]bool{
		"": false, "gzip": true, "GZIP": true, "br, gzip;q=0.5": true, "gzip;q=0": false,
		"gzip; q=0.0": false, "*": true, "identity": false, "deflate, br": false, "gzip;q=bad": false,
	}
	for in, want := range tests {
		if got := acceptsGzip(in); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestLoadBundleErrors(t *testing.T) {
	index := &fstest.MapFile{Data: []byte(`<script src="{{ASSETS}}/a.js"></script>`)}
	tests := []struct {
		name string
		fs   fstest.MapFS
		want string
	}{
		{"no index", fstest.MapFS{"s/a.js": {Data: []byte("x")}}, "no index.html"},
		{"index without mark", fstest.MapFS{"s/index.html": {Data: []byte("hi")}}, "does not use"},
		{"unknown kind", fstest.MapFS{"s/index.html": index, "s/a.exe": {Data: []byte("x")}}, `unknown kind ".exe"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadBundle(tt.fs, "s")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestVersionFollowsContent(t *testing.T) {
	index := &fstest.MapFile{Data: []byte(`{{ASSETS}}`)}
	v := func(js string) string {
		b, err := loadBundle(fstest.MapFS{"s/index.html": index, "s/a.js": {Data: []byte(js)}}, "s")
		if err != nil {
			t.Fatal(err)
		}
		return b.version
	}
	if v("one") == v("two") {
		t.Error("a changed file kept the version: browsers would keep the old one for a year")
	}
	if diff := cmp.Diff(v("same"), v("same")); diff != "" {
		t.Errorf("version is not stable: %s", diff)
	}
}
