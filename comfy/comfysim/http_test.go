package comfysim_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/comfygate/comfygate/comfy/comfysim"
)

func TestRoutesAndConventions(t *testing.T) {
	s := start(t, comfysim.Options{MaxUploadSizeMB: 0.001})
	tests := []struct {
		name        string
		method      string
		path        string
		body        string
		header      []string
		status      int
		contentType string
		wantBody    string // exact, when set
		allow       string
	}{
		{"unknown path", "GET", "/nonexistent", "", nil, 404, "text/plain; charset=utf-8", "404: Not Found", ""},
		{"traversal in URL path", "GET", "/view/../../etc/passwd", "", nil, 404, "text/plain; charset=utf-8", "404: Not Found", ""},
		{"trailing slash is another path", "GET", "/prompt/", "", nil, 404, "text/plain; charset=utf-8", "404: Not Found", ""},
		{"wrong method", "DELETE", "/prompt", "", nil, 405, "text/plain; charset=utf-8", "405: Method Not Allowed", "GET,HEAD,POST"},
		{"GET /prompt", "GET", "/prompt", "", nil, 200, "application/json; charset=utf-8", `{"exec_info": {"queue_remaining": 0}}`, ""},
		{"api alias", "GET", "/api/prompt", "", nil, 200, "application/json; charset=utf-8", `{"exec_info": {"queue_remaining": 0}}`, ""},
		{"HEAD of a GET route", "HEAD", "/queue", "", nil, 200, "application/json; charset=utf-8", "", ""},
		{"queue when idle", "GET", "/queue", "", nil, 200, "application/json; charset=utf-8", `{"queue_running": [], "queue_pending": []}`, ""},
		{"features", "GET", "/features", "", nil, 200, "application/json; charset=utf-8", `{"supports_preview_metadata": true, "max_upload_size": 1048.576}`, ""},
		{"interrupt, empty body", "POST", "/interrupt", "", nil, 200, "application/octet-stream", "", ""},
		{"interrupt, not JSON", "POST", "/interrupt", "not json", nil, 200, "application/octet-stream", "", ""},
		{"interrupt, unknown prompt", "POST", "/interrupt", `{"prompt_id": "nope"}`, nil, 200, "application/octet-stream", "", ""},
		{"interrupt, JSON null", "POST", "/interrupt", `null`, nil, 500, "text/plain; charset=utf-8", "500 Internal Server Error\n\nServer got itself in trouble", ""},
		// UnicodeDecodeError comes from request.json() and is no JSONDecodeError: not caught.
		{"interrupt, body not UTF-8", "POST", "/interrupt", "{\"prompt_id\": \"\xff\"}", nil, 500, "text/plain; charset=utf-8", "500 Internal Server Error\n\nServer got itself in trouble", ""},
		{"jobs cancel, body not UTF-8", "POST", "/api/jobs/cancel", "\"\xff\"", nil, 500, "text/plain; charset=utf-8", "500 Internal Server Error\n\nServer got itself in trouble", ""},
		{"jobs cancel, not JSON", "POST", "/api/jobs/cancel", "{", nil, 400, "application/json; charset=utf-8", `{"error": "Request body must be valid JSON"}`, ""},
		{"queue, malformed JSON", "POST", "/queue", `{`, nil, 500, "text/plain; charset=utf-8", "500 Internal Server Error\n\nServer got itself in trouble", ""},
		{"queue, empty body", "POST", "/queue", ``, nil, 500, "text/plain; charset=utf-8", "", ""},
		{"queue, clear", "POST", "/queue", `{"clear": true}`, nil, 200, "application/octet-stream", "", ""},
		{"queue, delete unknown", "POST", "/queue", `{"delete": ["no-such-id"]}`, nil, 200, "application/octet-stream", "", ""},
		{"queue, delete a number", "POST", "/queue", `{"delete": 5}`, nil, 500, "text/plain; charset=utf-8", "", ""},
		{"free", "POST", "/free", `{"unload_models": true, "free_memory": true}`, nil, 200, "application/octet-stream", "", ""},
		{"free, empty body", "POST", "/free", ``, nil, 500, "text/plain; charset=utf-8", "", ""},
		{"history delete unknown", "POST", "/history", `{"delete": ["no-such-id"]}`, nil, 200, "application/octet-stream", "", ""},
		{"history of unknown id", "GET", "/history/00000000-0000-0000-0000-000000000000", "", nil, 200, "application/json; charset=utf-8", "{}", ""},
		{"history, bad max_items", "GET", "/history?max_items=two", "", nil, 500, "text/plain; charset=utf-8", "", ""},
		{"object_info of unknown class", "GET", "/object_info/NoSuchNode", "", nil, 200, "application/json; charset=utf-8", "{}", ""},
		{"models/{unknown}", "GET", "/models/nope", "", nil, 404, "application/octet-stream", "", ""},
		{"embeddings", "GET", "/embeddings", "", nil, 200, "application/json; charset=utf-8", "[]", ""},
		{"extensions", "GET", "/extensions", "", nil, 200, "application/json; charset=utf-8", "[]", ""},
		{"internal has no api alias", "GET", "/api/internal/logs", "", nil, 404, "text/plain; charset=utf-8", "", ""},
		{"internal files, bad type", "GET", "/internal/files/bogus", "", nil, 400, "application/json; charset=utf-8", `{"error": "Invalid directory type"}`, ""},
		{"foreign Origin, loopback Host", "GET", "/queue", "", []string{"Origin", "http://evil.example:8188"}, 403, "application/octet-stream", "", ""},
		{"foreign Origin on POST", "POST", "/prompt", "{}", []string{"Origin", "http://evil.example"}, 403, "application/octet-stream", "", ""},
		{"non-loopback Host is not checked", "GET", "/queue", "", []string{"Host", "gateway.example", "Origin", "http://gateway.example"}, 200, "application/json; charset=utf-8", "", ""},
		{"OPTIONS", "OPTIONS", "/prompt", "", nil, 200, "application/octet-stream", "", ""},
		{"body over the limit", "POST", "/prompt", strings.Repeat("x", 2000), nil, 413, "text/plain; charset=utf-8", "", ""},
		{"jobs route under /api/api", "GET", "/api/api/jobs", "", nil, 200, "application/json; charset=utf-8", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body *bytes.Reader
			if tt.body != "" || tt.method == "POST" {
				body = bytes.NewReader([]byte(tt.body))
			}
			var r httpResult
			if body != nil {
				r = do(t, tt.method, s.URL()+tt.path, body, tt.header...)
			} else {
				r = do(t, tt.method, s.URL()+tt.path, nil, tt.header...)
			}
			if r.status != tt.status {
				t.Fatalf("status %d, want %d (%s)", r.status, tt.status, r.body)
			}
			diff(t, "content type", tt.contentType, r.header.Get("Content-Type"))
			if tt.wantBody != "" {
				diff(t, "body", tt.wantBody, string(r.body))
			}
			if tt.allow != "" {
				diff(t, "Allow", tt.allow, r.header.Get("Allow"))
			}
			if tt.contentType == "application/octet-stream" && tt.status != http.StatusOK || tt.contentType == "application/octet-stream" && tt.method != "GET" {
				diff(t, "Content-Length", "0", r.header.Get("Content-Length"))
			}
		})
	}
}

func TestDefaultFeatureFlagsAreInts(t *testing.T) {
	s := start(t, comfysim.Options{})
	diff(t, "features", `{"supports_preview_metadata": true, "max_upload_size": 104857600}`, string(get(t, s, "/features").body))
}

// Only the first JSON-object message counts, and only if it is
// feature_flags; non-objects do not use up the slot.
func TestFeatureFlagNegotiation(t *testing.T) {
	s := start(t, comfysim.Options{})
	tests := []struct {
		name   string
		send   []string
		answer bool
	}{
		{"first message", []string{`{"type": "feature_flags", "data": {"supports_preview_metadata": true}}`}, true},
		{"after junk and a list", []string{`not json`, `[1, 2]`, `{"type": "feature_flags", "data": {}}`}, true},
		{"after another object", []string{`{"type": "hello"}`, `{"type": "feature_flags", "data": {}}`}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws := dial(t, s, "ff-"+strings.ReplaceAll(tt.name, " ", "-"))
			ws.mustNext()
			for _, m := range tt.send {
				if err := ws.c.Write(t.Context(), 1, []byte(m)); err != nil {
					t.Fatal(err)
				}
			}
			// The pong comes after the server has read everything sent
			// before the ping; then a status broadcast marks the end.
			if err := ws.c.Ping(t.Context()); err != nil {
				t.Fatal(err)
			}
			postJSON(t, s, "/queue", `{"clear": true}`)
			got := ws.mustNext().typ()
			if tt.answer {
				diff(t, "reply", "feature_flags", got)
				got = ws.mustNext().typ()
			}
			diff(t, "then", "status", got)
		})
	}
}

func TestSidWithoutClientID(t *testing.T) {
	s := start(t, comfysim.Options{})
	ws := dial(t, s, "")
	m := decode(t, ws.mustNext())
	sid, _ := m.Data["sid"].(string)
	if len(sid) != 32 || strings.Trim(sid, "0123456789abcdef") != "" {
		t.Errorf("sid %q, want 32 lowercase hex digits", sid)
	}
}
