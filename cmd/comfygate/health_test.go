package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHealth: the probe of a container's HEALTHCHECK exits 0 only when the
// gateway answers 200, and says why otherwise.
func TestHealth(t *testing.T) {
	g := startRun(t, "serve", "--listen", "127.0.0.1:0", "--data", t.TempDir()) // no backend: live, not ready
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "store on fire", http.StatusInternalServerError)
	}))
	defer broken.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now

	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		output string // on stdout when 0, on stderr otherwise
	}{
		{"live", []string{"--server", g.URL}, 0, g.URL + "/healthz: ok"},
		{"not ready", []string{"--server", g.URL, "--ready"}, 1, "health: GET " + g.URL + "/readyz: 503 Service Unavailable: not ready"},
		{"server error", []string{"--server", broken.URL}, 1, "health: GET " + broken.URL + "/healthz: 500 Internal Server Error: store on fire"},
		{"nothing listening", []string{"--server", closed}, 1, "connection refused"},
		{"arguments", []string{"--server", g.URL, "extra"}, 1, `health: want no arguments, got ["extra"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, append([]string{"health"}, tc.args...)...)
			var stderr strings.Builder
			code := exitCode(r.err, &stderr)
			out := r.stdout
			if code != 0 {
				out = stderr.String()
			}
			if code != tc.code || !strings.Contains(out, tc.output) {
				t.Errorf("exit %d, output %q; want exit %d with %q", code, out, tc.code, tc.output)
			}
		})
	}
}
