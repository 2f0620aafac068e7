package artifact

import (
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// serveStore starts an HTTP server that serves the store's blobs at /{id}
// with the download name from ?name=.
func serveStore(tb testing.TB, l *Local) *httptest.Server {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := l.Open(r.Context(), strings.TrimPrefix(r.URL.Path, "/"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		defer b.Close()
		Serve(w, r, b, r.URL.Query().Get("name"))
	}))
	tb.Cleanup(srv.Close)
	return srv
}

type response struct {
	Status  int
	Body    string
	Headers map[string]string
}

func get(tb testing.TB, url string, header map[string]string) response {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	got := response{Status: resp.StatusCode, Body: string(body), Headers: map[string]string{}}
	for _, k := range []string{"Content-Type", "Content-Length", "Content-Range", "Content-Disposition", "ETag", "X-Content-Type-Options"} {
		if v := resp.Header.Get(k); v != "" {
			got.Headers[k] = v
		}
	}
	return got
}

func TestServe(t *testing.T) {
	t.Parallel()
	l := newStore(t, LocalOptions{})
	content := []byte("0123456789abcdefghijklmnopqrstuvwxyz")
	info := put(t, l, content, PutOptions{ContentType: "text/plain"})
	srv := serveStore(t, l)
	etag := `"` + info.ID + `"`
	base := map[string]string{
		"Content-Type":           "text/plain",
		"Content-Disposition":    `inline; filename=notes.txt`,
		"ETag":                   etag,
		"X-Content-Type-Options": "nosniff",
	}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name   string
		header map[string]string
		want   response
	}{
		{"whole", nil, response{200, string(content), with("Content-Length", "36")}},
		{"range", map[string]string{"Range": "bytes=10-19"},
			response{206, "abcdefghij", with("Content-Length", "10", "Content-Range", "bytes 10-19/36")}},
		{"suffix range", map[string]string{"Range": "bytes=-3"},
			response{206, "xyz", with("Content-Length", "3", "Content-Range", "bytes 33-35/36")}},
		{"unsatisfiable range", map[string]string{"Range": "bytes=100-"},
			response{416, "", map[string]string{"Content-Range": "bytes */36", "Content-Type": "text/plain; charset=utf-8",
				"X-Content-Type-Options": "nosniff", "Content-Length": "33", "Content-Disposition": "inline; filename=notes.txt"}}},
		{"not modified", map[string]string{"If-None-Match": etag},
			response{304, "", map[string]string{"ETag": etag, "X-Content-Type-Options": "nosniff", "Content-Disposition": "inline; filename=notes.txt"}}},
		{"if-range matches", map[string]string{"Range": "bytes=0-1", "If-Range": etag},
			response{206, "01", with("Content-Length", "2", "Content-Range", "bytes 0-1/36")}},
		{"if-range stale", map[string]string{"Range": "bytes=0-1", "If-Range": `"other"`},
			response{200, string(content), with("Content-Length", "36")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := get(t, srv.URL+"/"+info.ID+"?name=notes.txt", tc.header)
			got.Body = strings.TrimSuffix(got.Body, "invalid range: failed to overlap\n")
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("response mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestServeNeutralisesActiveContent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		stored, wantType, wantDisposition string
	}{
		{"text/html; charset=utf-8", "application/octet-stream", "attachment"},
		{"image/svg+xml", "application/octet-stream", "attachment"},
		{"application/xml", "application/octet-stream", "attachment"},
		{"application/atom+xml", "application/octet-stream", "attachment"},
		{"text/javascript", "application/octet-stream", "attachment"},
		{"application/x-shockwave-flash-script", "application/octet-stream", "attachment"},
		{"application/zip", "application/zip", "attachment"},
		{"image/png", "image/png", "inline"},
		{"video/mp4", "video/mp4", "inline"},
		{"application/json", "application/json", "inline"},
	}
	for _, tc := range tests {
		t.Run(tc.stored, func(t *testing.T) {
			t.Parallel()
			l := newStore(t, LocalOptions{})
			info := put(t, l, []byte("<script>alert(1)</script>"), PutOptions{ContentType: tc.stored})
			got := get(t, serveStore(t, l).URL+"/"+info.ID+"?name=x", nil)
			if got.Headers["Content-Type"] != tc.wantType {
				t.Errorf("Content-Type = %q, want %q", got.Headers["Content-Type"], tc.wantType)
			}
			if want := tc.wantDisposition + "; filename=x"; got.Headers["Content-Disposition"] != want {
				t.Errorf("Content-Disposition = %q, want %q", got.Headers["Content-Disposition"], want)
			}
			if got.Headers["X-Content-Type-Options"] != "nosniff" {
				t.Error("missing X-Content-Type-Options: nosniff")
			}
		})
	}
}

func TestSafeFilename(t *testing.T) {
	t.Parallel()
	id := strings.Repeat("ab", 32)
	tests := []struct{ name, in, want string }{
		{"plain", "ComfyUI_00001_.png", "ComfyUI_00001_.png"},
		{"unix path", "../../etc/passwd", "passwd"},
		{"windows path", `C:\temp\out.png`, "out.png"},
		{"control chars", "a\r\nb\x00c.png", "abc.png"},
		{"bidi override", "photo\u202egnp.exe", "photognp.exe"},
		{"quotes", `say "cheese".jpg`, "say cheese.jpg"},
		{"hidden", "...profile", "profile"},
		{"tab removed", "a\tb.png", "ab.png"},
		{"line separator to space", "a\u2028b.png", "a b.png"},
		{"invalid utf8", "caf\xe9.png", "caf_.png"},
		{"unicode kept", "猫.png", "猫.png"},
		{"empty", "", "artifact-abababababab"},
		{"only dots", "..", "artifact-abababababab"},
		{"trailing slash", "dir/", "artifact-abababababab"},
		{"long", strings.Repeat("x", 300) + ".webp", strings.Repeat("x", 195) + ".webp"},
		{"long multibyte", strings.Repeat("猫", 100) + ".png", strings.Repeat("猫", 65) + ".png"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := SafeFilename(tc.in, id); got != tc.want {
				t.Errorf("SafeFilename(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestDispositionEncodesUnicode(t *testing.T) {
	t.Parallel()
	if got, want := disposition(true, "猫 1.png"), `inline; filename*=utf-8''%E7%8C%AB%201.png`; got != want {
		t.Errorf("disposition = %q, want %q", got, want)
	}
}

func FuzzSafeFilename(f *testing.F) {
	for _, s := range []string{"a.png", "../x", "\u202e", "\xff\xfe", strings.Repeat("é", 150) + ".png"} {
		f.Add(s)
	}
	id := strings.Repeat("0", 64)
	f.Fuzz(func(t *testing.T, name string) {
		got := SafeFilename(name, id)
		switch {
		case got == "", len(got) > maxFilenameLen:
			t.Fatalf("SafeFilename(%q) = %q: bad length", name, got)
		case strings.ContainsAny(got, "/\\\"\x00\r\n"), strings.HasPrefix(got, "."):
			t.Fatalf("SafeFilename(%q) = %q: unsafe character", name, got)
		case !utf8.ValidString(got):
			t.Fatalf("SafeFilename(%q) = %q: invalid UTF-8", name, got)
		}
		if disposition(true, got) == "inline" {
			t.Fatalf("disposition dropped file name %q", got)
		}
	})
}

// memBlob is a synthetic Blob of n bytes that exist nowhere, to show that
// serving holds only buffers, never the content.
type memBlob struct {
	n   int64
	off int64
}

func (m *memBlob) Read(p []byte) (int, error) {
	if m.off >= m.n {
		return 0, io.EOF
	}
	k := min(int64(len(p)), m.n-m.off)
	m.off += k
	return int(k), nil
}

func (m *memBlob) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
		m.off = offset
	case io.SeekCurrent:
		m.off += offset
	case io.SeekEnd:
		m.off = m.n + offset
	}
	return m.off, nil
}

func (m *memBlob) Close() error       { return nil }
func (m *memBlob) ModTime() time.Time { return time.Unix(0, 0) }
func (m *memBlob) Info() Info {
	return Info{ID: strings.Repeat("0", 64), Size: m.n, ContentType: "video/mp4"}
}

// discardWriter is a ResponseWriter that keeps nothing.
type discardWriter struct {
	h       http.Header
	written int64
}

func (d *discardWriter) Header() http.Header { return d.h }
func (d *discardWriter) WriteHeader(int)     {}
func (d *discardWriter) Write(p []byte) (int, error) {
	d.written += int64(len(p))
	return len(p), nil
}

func TestServeStreamsInConstantMemory(t *testing.T) {
	const size = 256 << 20
	w := &discardWriter{h: http.Header{}}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	Serve(w, r, &memBlob{n: size}, "video.mp4")
	runtime.ReadMemStats(&after)
	if w.written != size {
		t.Fatalf("wrote %d bytes, want %d", w.written, size)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Errorf("serving %d MB allocated %d bytes; want buffers only", size>>20, alloc)
	}
}
