package comfyapi

import (
	"net/http"
	"testing"

	"github.com/comfygate/comfygate/workflow"
)

// TestJobsQueryAndBodies: the /api/jobs query and the request bodies are
// read as ComfyUI reads them, through the parser and reader the simulator
// uses too.
func TestJobsQueryAndBodies(t *testing.T) {
	e := newEnv(t, envOptions{})
	tests := []struct {
		name   string
		method string
		path   string
		body   string
		status int
		errMsg string // the JSON answer's "error", or the plain-text 500 body
	}{
		{"every bad status named", http.MethodGet, "/api/jobs?status=bogus,completed,Nope", "", 400,
			"Invalid status value(s): bogus, nope. Valid values: pending, in_progress, completed, failed, cancelled"},
		{"limit not an integer", http.MethodGet, "/api/jobs?limit=x", "", 400, "limit must be an integer"},
		{"limit not positive", http.MethodGet, "/api/jobs?limit=0", "", 400, "limit must be a positive integer"},
		{"cancel body not JSON", http.MethodPost, "/api/jobs/cancel", "{", 400, "Request body must be valid JSON"},
		{"cancel body not UTF-8", http.MethodPost, "/api/jobs/cancel", "\"\xff\"", 500, workflow.InternalErrorBody},
		{"interrupt body not UTF-8", http.MethodPost, "/interrupt", "{\"prompt_id\": \"\xff\"}", 500, workflow.InternalErrorBody},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body []byte
			if tt.method == http.MethodPost {
				body = []byte(tt.body)
			}
			r := do(t, tt.method, e.srv.URL+tt.path, body, nil)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			got := string(r.body)
			if tt.status == 400 {
				got, _ = r.json(t)["error"].(string)
			}
			if got != tt.errMsg {
				t.Errorf("answer %q, want %q", got, tt.errMsg)
			}
		})
	}
}
