package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/comfygate/comfygate/internal/flaskapi"
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

// TestCORSOnEverySurface: with --cors-origin, a page on that origin can
// call the REST API (preflight included), follow an SSE stream, open a
// WebSocket, and use the ComfyUI- and Flask-compatible routes, which
// otherwise refuse a foreign origin on a loopback host.
func TestCORSOnEverySurface(t *testing.T) {
	const origin = "https://app.example.com"
	s := startServer(t, Config{SimBackends: 1, Examples: true, CORSOrigins: []string{origin}})
	c := client(t)
	waitReady(t, c, s)
	send := func(method, path, body string, hdr ...string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, s.URL()+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Origin", origin)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { res.Body.Close() })
		return res
	}
	check := func(what string, res *http.Response, want int) {
		t.Helper()
		if res.StatusCode != want || res.Header.Get("Access-Control-Allow-Origin") != origin {
			body, _ := io.ReadAll(io.LimitReader(res.Body, 512))
			t.Errorf("%s: %d, Allow-Origin %q; want %d and %q (%s)", what, res.StatusCode,
				res.Header.Get("Access-Control-Allow-Origin"), want, origin, body)
		}
	}
	check("REST preflight", send("OPTIONS", "/v1/jobs", "", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "authorization,content-type"), http.StatusNoContent)
	check("REST submit", send("POST", "/v1/jobs", `{"workflow":"txt2img","params":{"steps":1,"width":64,"height":64}}`), http.StatusCreated)
	check("SSE", send("GET", "/v1/events", ""), http.StatusOK)
	check("ComfyUI preflight", send("OPTIONS", "/prompt", "", "Access-Control-Request-Method", "POST"), http.StatusNoContent)
	check("ComfyUI route", send("GET", "/queue", ""), http.StatusOK)
	check("ComfyUI route under /api", send("GET", "/api/system_stats", ""), http.StatusOK)
	check("Flask route", send("GET", "/api/workflows", ""), http.StatusOK)

	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for _, path := range []string{"/ws?clientId=page", "/v1/events/ws"} {
		conn, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.URL(), "http")+path,
			&websocket.DialOptions{HTTPHeader: http.Header{"Origin": {origin}}})
		if err != nil {
			t.Errorf("WebSocket %s from %s: %v", path, origin, err)
			continue
		}
		if res.Header.Get("Access-Control-Allow-Origin") != origin {
			t.Errorf("WebSocket %s: no Allow-Origin", path)
		}
		conn.Close(websocket.StatusNormalClosure, "")
	}
}

// TestNoCORSByDefault: without --cors-origin nothing changes: a preflight
// gets no CORS headers and a foreign origin stays refused where ComfyUI
// refuses it.
func TestNoCORSByDefault(t *testing.T) {
	s := startServer(t, Config{})
	req, _ := http.NewRequest("GET", s.URL()+"/queue", nil)
	req.Header.Set("Origin", "https://app.example.com")
	res, err := client(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden || res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("foreign origin without CORS: %d %q, want 403 and no Allow-Origin", res.StatusCode, res.Header.Get("Access-Control-Allow-Origin"))
	}
}

// TestOpenAPICoversEverySurface: /openapi.json describes the routes the
// ComfyUI- and Flask-compatible surfaces serve, and nothing they do not.
func TestOpenAPICoversEverySurface(t *testing.T) {
	s := startServer(t, Config{})
	c := client(t)
	_, body := get(t, c, s.URL()+"/openapi.json")
	var doc struct {
		Paths map[string]map[string]struct {
			Tags []string `json:"tags"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	p := s.parts
	s.mu.Unlock()
	flask, err := flaskapi.New(flaskapi.Config{Service: p.svc})
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]bool{}
	for _, path := range p.comfy.Paths() {
		served[path] = true
		if doc.Paths[path] == nil {
			t.Errorf("ComfyUI route %s is not documented", path)
		}
	}
	for _, pattern := range flask.Patterns() {
		method, path, ok := strings.Cut(pattern, " ")
		if !ok {
			continue // the catch-all under /flask/api/
		}
		served[path], served["/flask"+path] = true, true
		for _, each := range []string{path, "/flask" + path} {
			if _, ok := doc.Paths[each][strings.ToLower(method)]; !ok {
				t.Errorf("Flask route %s %s is not documented", method, each)
			}
		}
	}
	for path, item := range doc.Paths {
		for method, op := range item {
			compat := slices.Contains(op.Tags, "ComfyUI-compatible") || slices.Contains(op.Tags, "Flask-compatible")
			if !compat || served[path] {
				continue
			}
			// Routes only under /flask (its history) are probed.
			probe := strings.NewReplacer("{prompt_id}", "none").Replace(path)
			if code, _ := get(t, c, s.URL()+probe); method != "get" || code == http.StatusNotFound {
				t.Errorf("documented %s %s is not served (%d)", method, path, code)
			}
		}
	}
}
