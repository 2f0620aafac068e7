package artifacttest

import (
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/comfygate/comfygate/internal/artifact"
)

var serveTests = map[string]func(*testing.T, NewStore){
	"Ranges":     testServeRanges,
	"MultiRange": testServeMultiRange,
	"LargeRange": testServeLargeRange,
}

// ServeStore starts an HTTP server that serves the store's blobs at /{id}
// through artifact.Serve, as the API does.
func ServeStore(tb testing.TB, s artifact.Store) *httptest.Server {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := s.Open(r.Context(), strings.TrimPrefix(r.URL.Path, "/"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		defer b.Close()
		artifact.Serve(w, r, b, r.URL.Query().Get("name"))
	}))
	tb.Cleanup(srv.Close)
	return srv
}

// get fetches url with header, returning the status, the body and the
// Content-Range.
func get(tb testing.TB, url string, header map[string]string) (status int, body, contentRange, contentType string) {
	tb.Helper()
	req, err := http.NewRequestWithContext(tb.Context(), http.MethodGet, url, nil)
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
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header.Get("Content-Range"), resp.Header.Get("Content-Type")
}

func testServeRanges(t *testing.T, newStore NewStore) {
	s := newStore(t, Options{})
	const content = "0123456789abcdefghijklmnopqrstuvwxyz"
	info := Put(t, s, []byte(content), artifact.PutOptions{ContentType: "text/plain"})
	url := ServeStore(t, s).URL + "/" + info.ID
	etag := `"` + info.ID + `"`
	tests := []struct {
		name       string
		header     map[string]string
		wantStatus int
		wantBody   string
		wantRange  string
	}{
		{"whole", nil, 200, content, ""},
		{"range", map[string]string{"Range": "bytes=10-19"}, 206, "abcdefghij", "bytes 10-19/36"},
		{"open range", map[string]string{"Range": "bytes=30-"}, 206, "uvwxyz", "bytes 30-35/36"},
		{"suffix range", map[string]string{"Range": "bytes=-3"}, 206, "xyz", "bytes 33-35/36"},
		{"last byte", map[string]string{"Range": "bytes=35-35"}, 206, "z", "bytes 35-35/36"},
		{"unsatisfiable", map[string]string{"Range": "bytes=100-"}, 416, "", "bytes */36"},
		{"not modified", map[string]string{"If-None-Match": etag}, 304, "", ""},
		{"if-range stale", map[string]string{"Range": "bytes=0-1", "If-Range": `"other"`}, 200, content, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body, rng, _ := get(t, url, tc.header)
			if status == http.StatusRequestedRangeNotSatisfiable {
				body = "" // net/http's explanation
			}
			if status != tc.wantStatus || body != tc.wantBody || rng != tc.wantRange {
				t.Errorf("got %d %q (Content-Range %q), want %d %q (%q)", status, body, rng, tc.wantStatus, tc.wantBody, tc.wantRange)
			}
		})
	}
}

// A multi-range request makes Serve seek back and forth over the blob.
func testServeMultiRange(t *testing.T, newStore NewStore) {
	s := newStore(t, Options{})
	const content = "0123456789abcdefghijklmnopqrstuvwxyz"
	info := Put(t, s, []byte(content), artifact.PutOptions{ContentType: "text/plain"})
	url := ServeStore(t, s).URL + "/" + info.ID
	status, body, _, ctype := get(t, url, map[string]string{"Range": "bytes=30-32,0-1,10-10"})
	if status != http.StatusPartialContent {
		t.Fatalf("status %d, want 206", status)
	}
	_, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		t.Fatalf("Content-Type %q: %v", ctype, err)
	}
	mr := multipart.NewReader(strings.NewReader(body), params["boundary"])
	var parts []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		parts = append(parts, p.Header.Get("Content-Range")+" "+string(b))
	}
	want := []string{"bytes 30-32/36 uvw", "bytes 0-1/36 01", "bytes 10-10/36 a"}
	if strings.Join(parts, "|") != strings.Join(want, "|") {
		t.Errorf("parts = %q, want %q", parts, want)
	}
}

// A range deep inside a blob of several megabytes comes back right.
func testServeLargeRange(t *testing.T, newStore NewStore) {
	const size = 8 << 20
	s := newStore(t, Options{})
	info, err := s.Put(t.Context(), NewPattern(size, 3), artifact.PutOptions{ContentType: "video/mp4"})
	if err != nil {
		t.Fatal(err)
	}
	url := ServeStore(t, s).URL + "/" + info.ID
	status, body, rng, _ := get(t, url, map[string]string{"Range": "bytes=7000000-7000099"})
	if status != http.StatusPartialContent || rng != "bytes 7000000-7000099/8388608" {
		t.Fatalf("status %d, Content-Range %q", status, rng)
	}
	if want := PatternAt(3, 7000000, 100); body != string(want) {
		t.Errorf("range body differs")
	}
}
