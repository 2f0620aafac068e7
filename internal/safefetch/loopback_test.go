package safefetch

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestAllowLoopbackOpensLoopbackOnly(t *testing.T) {
	t.Parallel()
	srv, hits := server(t, serveText("ok"))
	f := newFetcher(t, Config{AllowLoopback: true})
	if body, _, err := fetchAll(t, f, srv.URL); err != nil || body != "ok" {
		t.Fatalf("fetch from a loopback server with AllowLoopback: %q, %v", body, err)
	}
	tests := []struct{ name, url, want string }{
		{"private", "http://10.0.0.1/", "is a private address"},
		{"metadata", "http://169.254.169.254/", "cloud metadata"},
		{"link-local", "http://169.254.1.1/", "link-local"},
		{"ipv6 unique local", "http://[fd00::1]/", "private (unique local)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := f.CheckURL(tt.url)
			if !errors.Is(err, ErrBlocked) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("CheckURL(%s) = %v, want a refusal saying %q", tt.url, err, tt.want)
			}
		})
	}
	if hits.Load() != 1 {
		t.Errorf("server hit %d times, want 1", hits.Load())
	}
}

func TestExportedCheckURL(t *testing.T) {
	t.Parallel()
	f := newFetcher(t, Config{AllowedHosts: []string{"hooks.example.com"}})
	tests := []struct {
		name, url string
		want      error
	}{
		{"allowed", "https://hooks.example.com/x?token=1", nil},
		{"other host", "https://evil.example.com/x", ErrNotAllowed},
		{"scheme", "ftp://hooks.example.com/", ErrInvalidURL},
		{"credentials", "https://u:p@hooks.example.com/", ErrInvalidURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := f.CheckURL(tt.url); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("CheckURL(%s) = %v, want %v", tt.url, err, tt.want)
			}
		})
	}
}

func TestNoRedirectsAnswersWithTheRedirect(t *testing.T) {
	t.Parallel()
	target, targetHits := server(t, serveText("moved here"))
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
	})
	f := newFetcher(t, Config{AllowLoopback: true})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, strings.NewReader("{}"))
	resp, err := f.NoRedirects().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect || targetHits.Load() != 0 {
		t.Errorf("status %d, redirect target hit %d times; want 307 and no hit", resp.StatusCode, targetHits.Load())
	}
	blocked := newFetcher(t, Config{})
	req, _ = http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, strings.NewReader("{}"))
	if _, err := blocked.NoRedirects().Do(req); !errors.Is(err, ErrBlocked) {
		t.Errorf("NoRedirects without AllowLoopback reached loopback: %v", err)
	}
}
