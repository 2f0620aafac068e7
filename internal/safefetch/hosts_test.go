package safefetch

import (
	"errors"
	"testing"
)

func TestHostPatterns(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern string
		host    string
		want    bool
	}{
		{"images.example.com", "images.example.com", true},
		{"Images.Example.COM.", "images.example.com", true},
		{"images.example.com", "evil-images.example.com", false},
		{"images.example.com", "images.example.com.evil.net", false},
		{"*.example.com", "cdn.example.com", true},
		{"*.example.com", "a.b.example.com", true},
		{"*.example.com", "example.com", false},
		{"*.example.com", "badexample.com", false},
		{"127.0.0.1", "127.0.0.1", true},
		{"[::1]", "::1", true},
		{"::FFFF:7f00:1", "::ffff:127.0.0.1", true},
	}
	for _, tc := range tests {
		t.Run(tc.pattern+" "+tc.host, func(t *testing.T) {
			p, err := parsePattern(tc.pattern)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.match(canonicalHost(tc.host)); got != tc.want {
				t.Errorf("match = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestNewRejectsBadPatterns(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"", "*", "*.", "http://example.com", "example.com/path", "example.com:443",
		"*.*.example.com", "exa mple.com", "user@example.com", "-bad.example.com", "bücher.de", "*.127.0.0.1x/"} {
		if _, err := New(Config{AllowedHosts: []string{p}}); err == nil {
			t.Errorf("New with allowed host %q: want an error", p)
		}
	}
}

func TestCheckURL(t *testing.T) {
	t.Parallel()
	f, err := New(Config{AllowedHosts: []string{"*.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		url     string
		wantErr error
	}{
		{"https://cdn.example.com/cat.png", nil},
		{"http://cdn.example.com:8080/cat.png?sig=abc", nil},
		{"file:///etc/passwd", ErrInvalidURL},
		{"ftp://cdn.example.com/x", ErrInvalidURL},
		{"gopher://cdn.example.com/x", ErrInvalidURL},
		{"javascript:alert(1)", ErrInvalidURL},
		{"//cdn.example.com/x", ErrInvalidURL},
		{"cdn.example.com/x", ErrInvalidURL},
		{"http:///x", ErrInvalidURL},
		{"http://user:pw@cdn.example.com/x", ErrInvalidURL},
		{"http://[::1", ErrInvalidURL},
		{"http://cdn.example.com/\x00", ErrInvalidURL},
		{"", ErrInvalidURL},
		{"https://evil.net/x", ErrNotAllowed},
		{"https://cdn.example.com.evil.net/x", ErrNotAllowed},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			_, err := f.checkURL(tc.url)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Errorf("checkURL(%q) = %v, want %v", tc.url, err, tc.wantErr)
			}
		})
	}
}

func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{"https://a.example.com/x", "http://10.0.0.1/", "http://[::ffff:127.0.0.1]:80/", "file:///x", "http://u@h/"} {
		f.Add(s)
	}
	fetcher, err := New(Config{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := fetcher.checkURL(raw)
		if err != nil {
			if !errors.Is(err, ErrInvalidURL) && !errors.Is(err, ErrBlocked) {
				t.Fatalf("checkURL(%q) error %v is neither ErrInvalidURL nor ErrBlocked", raw, err)
			}
			return
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil {
			t.Fatalf("checkURL(%q) accepted %#v", raw, u)
		}
	})
}
