package server

import (
	"net/http"
	"testing"
)

// TestProbeAliases: /health and /ready are the REST API's probes on the
// process listener, not ComfyUI routes proxied to a backend.
func TestProbeAliases(t *testing.T) {
	s := startServer(t, Config{})
	c := client(t)
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/health", http.StatusOK},
		{"/ready", http.StatusServiceUnavailable}, // no backend
		{"/healthz", http.StatusOK},
		{"/readyz", http.StatusServiceUnavailable},
	} {
		code, body := get(t, c, s.URL()+tc.path)
		if code != tc.want {
			t.Errorf("GET %s: %d %q, want %d", tc.path, code, body, tc.want)
		}
	}
}
