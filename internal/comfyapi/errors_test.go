package comfyapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/internal/comfywire"
	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/gateway"
	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/workflow"
)

// TestRespondTable: each failure a route returns is written once, in the
// shape ComfyUI (aiohttp) gives it, or in comfygate's own 503s where a
// fleet fails in ways one ComfyUI cannot.
func TestRespondTable(t *testing.T) {
	h, _ := newIdleHandler(t)
	h.cfg.MaxUploadBytes = 10
	nodeErr := comfy.NodeError{ClassType: "EmptyImage", Errors: []comfy.ErrorInfo{{Type: "value_smaller_than_min", Message: "Value -5 smaller than min of 1"}}}
	tests := []struct {
		name       string
		err        error
		status     int
		ctype      string
		body       string // exact, or "~" + a part of it
		retryAfter string
	}{
		{"python exception", errPython, 500, comfywire.ContentText, workflow.InternalErrorBody, ""},
		{"malformed prompt", &workflow.MalformedError{Reason: "x"}, 500, comfywire.ContentText, workflow.InternalErrorBody, ""},
		{"unknown failure", errors.New("boom"), 500, comfywire.ContentText, workflow.InternalErrorBody, ""},
		{"empty 403", statusOnly(http.StatusForbidden), 403, comfywire.ContentEmpty, "", ""},
		{"empty 404, wrapped", fmt.Errorf("view: %w", statusOnly(http.StatusNotFound)), 404, comfywire.ContentEmpty, "", ""},
		{"route not found", errRouteNotFound, 404, comfywire.ContentText, "404: Not Found", ""},
		{"prompt refused", &comfy.PromptError{Status: 400, Info: comfy.ErrorInfo{Type: "prompt_outputs_failed_validation", Message: "Prompt outputs failed validation"},
			NodeErrors: map[string]comfy.NodeError{"1": nodeErr}}, 400, comfywire.ContentJSON,
			`~{"error":{"type":"prompt_outputs_failed_validation","message":"Prompt outputs failed validation","details":"","extra_info":{}},"node_errors":{"1":{"errors":[{"type":"value_smaller_than_min"`, ""},
		{"limit", &workflow.LimitError{What: "nodes", Limit: 3}, 400, comfywire.ContentJSON, `~"type":"invalid_prompt","message":"Prompt too large"`, ""},
		{"use cases refused an input", &gateway.InputError{Field: "prompt.3.inputs.image", Problem: "no upload with id x"}, 400, comfywire.ContentJSON,
			`~"type":"invalid_prompt","message":"Invalid prompt","details":"prompt.3.inputs.image: no upload with id x"`, ""},
		{"no backend can run it", &gateway.UnrunnableError{Message: "no backend has model x"}, 400, comfywire.ContentJSON,
			`~"message":"Cannot execute because no backend can run this prompt","details":"no backend has model x"`, ""},
		{"jobs api", jobsErrorf(404, "Job not found"), 404, comfywire.ContentJSON, `{"error":"Job not found"}`, ""},
		{"body too large", errBodyTooLarge, 413, comfywire.ContentText, "~Maximum request body size 10 exceeded", ""},
		{"queue full", &gateway.OverloadError{Message: "queue is full (5 jobs waiting)", RetryAfter: 4500 * time.Millisecond}, 503,
			comfywire.ContentText, "503: Service Unavailable: the queue is full", "5"},
		{"no backend", errNoBackend, 503, comfywire.ContentText, "503: Service Unavailable: no healthy backend", "5"},
		{"store failed", failed("reading the queue", errors.New("disk I/O error at /var/lib/x")), 503, comfywire.ContentText,
			"503: Service Unavailable: reading the queue failed", "1"},
		{"unauthorized", &unauthorized{errors.New("missing API key")}, 401, comfywire.ContentText, "401: Unauthorized: missing API key", ""},
		{"backend did not answer", &badGateway{errors.New("dial tcp: refused")}, 502, comfywire.ContentText, "502: Bad Gateway", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.respond(rec, httptest.NewRequest(http.MethodPost, "/prompt", nil), tt.err)
			body := rec.Body.String()
			if rec.Code != tt.status || rec.Header().Get("Content-Type") != tt.ctype || rec.Header().Get("Retry-After") != tt.retryAfter {
				t.Errorf("answer %d %q Retry-After %q; want %d %q %q", rec.Code, rec.Header().Get("Content-Type"),
					rec.Header().Get("Retry-After"), tt.status, tt.ctype, tt.retryAfter)
			}
			if want, part := strings.CutPrefix(tt.body, "~"); part && !strings.Contains(body, want) || !part && body != tt.body {
				t.Errorf("body %q, want %q", body, tt.body)
			}
			if strings.Contains(body, "/var/lib") || strings.Contains(body, "refused") {
				t.Errorf("body shows the cause: %q", body)
			}
		})
	}
	t.Run("unauthorized asks for a key", func(t *testing.T) {
		rec := httptest.NewRecorder()
		h.respond(rec, httptest.NewRequest(http.MethodGet, "/queue", nil), &unauthorized{errors.New("x")})
		if rec.Header().Get("WWW-Authenticate") == "" {
			t.Error("no WWW-Authenticate")
		}
	})
	t.Run("a client that left gets nothing", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		rec := httptest.NewRecorder()
		h.respond(rec, httptest.NewRequest(http.MethodGet, "/queue", nil).WithContext(ctx), fmt.Errorf("list: %w", context.Canceled))
		if rec.Body.Len() != 0 || rec.Header().Get("Content-Type") != "" {
			t.Errorf("answered %d %q", rec.Code, rec.Body)
		}
	})
}

// TestPromptOverloaded: the use cases' admission refuses POST /prompt at
// the backlog limit with a 503 and Retry-After, as for every surface.
func TestPromptOverloaded(t *testing.T) {
	var names *Names
	h, store := newIdleHandler(t, func(c *Config) { names = c.Names })
	gw, err := gateway.New(gateway.Config{Store: store, Artifacts: h.cfg.Artifacts, Hub: h.cfg.Hub.(*events.Hub), Fleet: catalogFleet{h.gw.Catalog()},
		Names: names, MaxQueued: 1})
	if err != nil {
		t.Fatal(err)
	}
	h.gw = gw
	body := mustJSON(t, map[string]any{"prompt": imageGraph(8, 8, "full")})
	post := func() *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/prompt", strings.NewReader(string(body))))
		return rec
	}
	if rec := post(); rec.Code != 200 {
		t.Fatalf("first prompt: %d %s", rec.Code, rec.Body)
	}
	rec := post()
	if rec.Code != 503 || rec.Header().Get("Retry-After") != "5" || rec.Body.String() != "503: Service Unavailable: the queue is full" {
		t.Errorf("second prompt: %d %q Retry-After %q", rec.Code, rec.Body, rec.Header().Get("Retry-After"))
	}
	jobs, _, err := store.ListJobs(context.Background(), job.JobFilter{})
	if err != nil || len(jobs) != 1 {
		t.Errorf("%d jobs stored (%v), want 1", len(jobs), err)
	}
}
