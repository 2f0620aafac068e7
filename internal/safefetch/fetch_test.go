package safefetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Every test server listens on 127.0.0.1 (httptest's default); nothing here
// sends a packet anywhere else. Refused addresses are refused before
// connect(2).

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newFetcher(tb testing.TB, cfg Config) *Fetcher {
	tb.Helper()
	f, err := New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(f.CloseIdleConnections)
	return f
}

// server starts a loopback server and counts the requests it gets.
func server(tb testing.TB, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	tb.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		h(w, r)
	}))
	tb.Cleanup(srv.Close)
	return srv, &hits
}

func serveText(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, body)
	}
}

// onlyServer admits exactly srv's address:port, as if it were public, so a
// test can exercise what happens after the first hop.
func onlyServer(srv *httptest.Server) func(netip.AddrPort) bool {
	want := netip.MustParseAddrPort(strings.TrimPrefix(srv.URL, "http://"))
	return func(ap netip.AddrPort) bool { return ap == want }
}

func fetchAll(tb testing.TB, f *Fetcher, rawURL string) (string, string, error) {
	tb.Helper()
	body, ct, err := f.Fetch(context.Background(), rawURL)
	if err != nil {
		return "", "", err
	}
	defer body.Close()
	data, err := io.ReadAll(body)
	return string(data), ct, err
}

func TestFetchRefusesLoopbackByDefault(t *testing.T) {
	t.Parallel()
	srv, hits := server(t, serveText("secret"))
	port := srv.URL[strings.LastIndexByte(srv.URL, ':')+1:]
	tests := []struct {
		name, url, wantMsg string
	}{
		{"ip literal", srv.URL, "url: host 127.0.0.1 is a loopback address"},
		{"name resolved at dial time", "http://localhost:" + port + "/", "url: host localhost resolves to 127.0.0.1, a loopback address"},
		{"mapped ipv6 literal", "http://[::ffff:127.0.0.1]:" + port + "/", "url: host ::ffff:127.0.0.1 is a loopback address (as 127.0.0.1)"},
		{"unspecified", "http://0.0.0.0:" + port + "/", "url: host 0.0.0.0 is an unspecified"},
	}
	f := newFetcher(t, Config{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := fetchAll(t, f, tc.url)
			if !errors.Is(err, ErrBlocked) || !strings.HasPrefix(err.Error(), tc.wantMsg) {
				t.Errorf("Fetch(%s) = %v, want ErrBlocked %q", tc.url, err, tc.wantMsg)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("server got %d requests, want none", n)
	}
}

func TestFetchAllowPrivate(t *testing.T) {
	t.Parallel()
	srv, _ := server(t, serveText("cat pixels"))
	f := newFetcher(t, Config{AllowPrivate: true})
	body, ct, err := fetchAll(t, f, srv.URL+"/cat.png")
	if err != nil || body != "cat pixels" || ct != "text/plain" {
		t.Fatalf("Fetch = %q, %q, %v; want the body and its type", body, ct, err)
	}
	_, _, err = fetchAll(t, f, "http://169.254.169.254/latest/meta-data/")
	if !errors.Is(err, ErrBlocked) {
		t.Errorf("metadata with AllowPrivate: err = %v, want ErrBlocked", err)
	}
}

func TestFetchAllowedHosts(t *testing.T) {
	t.Parallel()
	srv, hits := server(t, serveText("ok"))
	refused := newFetcher(t, Config{AllowPrivate: true, AllowedHosts: []string{"images.example.com"}})
	if _, _, err := fetchAll(t, refused, srv.URL); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("host outside the list: err = %v, want ErrNotAllowed", err)
	}
	if hits.Load() != 0 {
		t.Error("a host outside the list was contacted")
	}
	allowed := newFetcher(t, Config{AllowPrivate: true, AllowedHosts: []string{"127.0.0.1"}})
	if body, _, err := fetchAll(t, allowed, srv.URL); err != nil || body != "ok" {
		t.Errorf("listed host: %q, %v", body, err)
	}
}

func TestFetchRedirects(t *testing.T) {
	t.Parallel()
	target, targetHits := server(t, serveText("should not be reached"))
	targetPort := target.URL[strings.LastIndexByte(target.URL, ':')+1:]
	var next atomic.Value // where the first server redirects to
	first, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/final" {
			io.WriteString(w, "arrived")
			return
		}
		http.Redirect(w, r, next.Load().(string), http.StatusFound)
	})
	tests := []struct {
		name, location string
		wantErr        error
		wantMsg        string
	}{
		{"to a loopback name", "http://localhost:" + targetPort + "/", ErrBlocked, "url: host localhost resolves to 127.0.0.1, a loopback address"},
		{"to a loopback literal", target.URL + "/", ErrBlocked, "url: host 127.0.0.1 is a loopback address"},
		{"to ipv6 loopback", "http://[::1]:" + targetPort + "/", ErrBlocked, "url: host ::1 is a loopback address"},
		{"to cloud metadata", "http://169.254.169.254/latest/meta-data/", ErrBlocked, "url: host 169.254.169.254 is a link-local (cloud metadata) address"},
		{"to a file", "file:///etc/passwd", ErrInvalidURL, `url: scheme "file" is not allowed`},
		{"to itself, forever", first.URL + "/loop", ErrTooManyRedirects, "url: host 127.0.0.1: too many redirects (more than 5)"},
		{"to an allowed page", first.URL + "/final", nil, ""},
	}
	f := newFetcher(t, Config{})
	f.allow = onlyServer(first)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			next.Store(tc.location)
			body, _, err := fetchAll(t, f, first.URL+"/start")
			if tc.wantErr == nil {
				if err != nil || body != "arrived" {
					t.Fatalf("Fetch = %q, %v", body, err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) || !strings.HasPrefix(err.Error(), tc.wantMsg) {
				t.Errorf("Fetch = %v, want %v %q", err, tc.wantErr, tc.wantMsg)
			}
		})
	}
	if n := targetHits.Load(); n != 0 {
		t.Errorf("redirect target got %d requests, want none", n)
	}
}

func TestFetchSizeLimit(t *testing.T) {
	t.Parallel()
	const limit = 1000
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscan(r.URL.Query().Get("n"), &n)
		if r.URL.Query().Get("chunked") != "" {
			w.(http.Flusher).Flush() // no Content-Length: the limit must hold while reading
		}
		io.WriteString(w, strings.Repeat("x", n))
	})
	f := newFetcher(t, Config{AllowPrivate: true, MaxBytes: limit})
	tests := []struct {
		name    string
		query   string
		wantErr bool
	}{
		{"at the limit", "n=1000", false},
		{"declared over", "n=1001", true},
		{"streamed at the limit", "n=1000&chunked=1", false},
		{"streamed over", "n=5000&chunked=1", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, _, err := fetchAll(t, f, srv.URL+"/?"+tc.query)
			if !tc.wantErr {
				if err != nil || len(body) != limit {
					t.Fatalf("got %d bytes, %v; want %d", len(body), err, limit)
				}
				return
			}
			var tooLarge *TooLargeError
			if !errors.As(err, &tooLarge) || !errors.Is(err, ErrTooLarge) || tooLarge.Limit != limit {
				t.Errorf("err = %v, want TooLargeError{%d}", err, limit)
			}
		})
	}
}

func TestFetchStatusError(t *testing.T) {
	t.Parallel()
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	f := newFetcher(t, Config{AllowPrivate: true})
	_, _, err := fetchAll(t, f, srv.URL+"/missing.png")
	var se *StatusError
	if !errors.As(err, &se) || se.Code != http.StatusNotFound || err.Error() != "url: server answered 404 Not Found" {
		t.Errorf("err = %v, want StatusError 404", err)
	}
}

func TestFetchTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		select { // hang until the client gives up (or the test ends)
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	f := newFetcher(t, Config{AllowPrivate: true, Timeout: 100 * time.Millisecond})
	_, _, err := fetchAll(t, f, srv.URL)
	var uerr *url.Error
	if !errors.As(err, &uerr) || !uerr.Timeout() {
		t.Errorf("err = %v, want a timeout", err)
	}
	if err != nil && strings.Contains(err.Error(), "?") {
		t.Errorf("error %q may leak the query string", err)
	}
}

func TestHTTPClientTemplate(t *testing.T) {
	t.Parallel()
	if _, err := New(Config{HTTPClient: &http.Client{Transport: roundTripFunc(nil)}}); err == nil {
		t.Error("New with a non-*http.Transport: want an error")
	}
	srv := httptest.NewTLSServer(serveText("over tls"))
	defer srv.Close()
	// The template's Proxy would dial on our behalf, unchecked; New must drop it.
	proxy, proxyHits := server(t, serveText("proxied"))
	tmpl := srv.Client()
	tmpl.Transport.(*http.Transport).Proxy = func(*http.Request) (*url.URL, error) { return url.Parse(proxy.URL) }
	f := newFetcher(t, Config{HTTPClient: tmpl})
	if _, _, err := fetchAll(t, f, srv.URL); !errors.Is(err, ErrBlocked) {
		t.Errorf("TLS loopback without AllowPrivate: err = %v, want ErrBlocked", err)
	}
	f = newFetcher(t, Config{HTTPClient: tmpl, AllowPrivate: true})
	if body, _, err := fetchAll(t, f, srv.URL); err != nil || body != "over tls" {
		t.Errorf("TLS fetch with the template's roots: %q, %v", body, err)
	}
	if n := proxyHits.Load(); n != 0 {
		t.Errorf("the template's proxy got %d requests, want none", n)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
