package main

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/comfy/comfysim"
)

func TestServeRequests(t *testing.T) {
	c, _ := startStack(t, comfysim.Options{})

	t.Run("idempotency key", func(t *testing.T) {
		req := api.SubmitJobRequest{Workflow: "t2i", Params: map[string]any{"seed": 7, "steps": 1}}
		first := c.submit(req, "Idempotency-Key", "order-7")
		again := c.must(http.StatusCreated, "POST", "/v1/jobs", req, "Idempotency-Key", "order-7")
		var replay api.Job
		again.decode(t, &replay)
		if replay.ID != first.ID || again.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay = %s (Idempotent-Replayed %q), want job %s replayed", replay.ID, again.Header.Get("Idempotent-Replayed"), first.ID)
		}
		other := api.SubmitJobRequest{Workflow: "t2i", Params: map[string]any{"seed": 8, "steps": 1}}
		r := c.do("POST", "/v1/jobs", other, "Idempotency-Key", "order-7")
		if r.Status != http.StatusConflict && r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("same key, other body: status %d, want 409 or 422: %s", r.Status, r.Body)
		}
		var e apiError
		r.decode(t, &e)
		if !strings.Contains(e.Error.Message, "order-7") {
			t.Fatalf("error %q does not name the key", e.Error.Message)
		}
	})

	t.Run("validation", func(t *testing.T) {
		for _, tc := range []struct {
			name, body string
			status     int
			field      string // the error's field starts with this
			mention    string // the message contains this
		}{
			{"param of the wrong type", `{"workflow":"t2i","params":{"width":"wide"}}`, 400, "params.width", ""},
			{"param out of bounds", `{"workflow":"t2i","params":{"steps":0}}`, 400, "params.steps", ""},
			{"unknown param", `{"workflow":"t2i","params":{"colour":"red"}}`, 400, "params.colour", ""},
			{"unknown node class", unknownClassBody(t), 400, "prompt", "NoSuchNode"},
			{"param not in its enum", `{"workflow":"t2i","params":{"checkpoint":"missing-model.safetensors"}}`, 400, "params.checkpoint", "v1-5-pruned-emaonly"},
			{"missing model", `{"workflow":"t2i","overrides":{"4":{"inputs":{"ckpt_name":"missing-model.safetensors"}}}}`, 400, "prompt.4", "missing-model.safetensors"},
			{"unknown workflow", `{"workflow":"nope"}`, 404, "", "nope"},
			{"malformed JSON", `{"workflow":`, 400, "", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := c.do("POST", "/v1/jobs", tc.body)
				var e apiError
				r.decode(t, &e)
				if r.Status != tc.status || !strings.HasPrefix(e.Error.Field, tc.field) || !strings.Contains(e.Error.Message, tc.mention) {
					t.Fatalf("status %d, field %q, message %q; want %d, field %q…, message with %q",
						r.Status, e.Error.Field, e.Error.Message, tc.status, tc.field, tc.mention)
				}
			})
		}
	})

	t.Run("wait for the result", func(t *testing.T) {
		var j api.Job
		c.must(http.StatusCreated, "POST", "/v1/jobs?wait=60s", api.SubmitJobRequest{Workflow: "t2i", Params: map[string]any{"steps": 2}}).decode(t, &j)
		if j.State != api.StateSucceeded || len(j.Outputs) == 0 {
			t.Fatalf("job after ?wait= = %s with %d outputs, want succeeded with outputs", j.State, len(j.Outputs))
		}
		var again api.Job
		c.must(http.StatusOK, "GET", "/v1/jobs/"+j.ID+"?wait=10s", nil).decode(t, &again)
		if again.State != api.StateSucceeded {
			t.Fatalf("GET ?wait= = %s, want succeeded", again.State)
		}
	})

	t.Run("probes and metrics", func(t *testing.T) {
		c.must(http.StatusOK, "GET", "/healthz", nil)
		c.must(http.StatusOK, "GET", "/readyz", nil)
		m := string(c.must(http.StatusOK, "GET", "/metrics", nil).Body)
		for _, series := range []string{
			"comfygate_fleet_jobs_dispatched_total",
			"comfygate_fleet_jobs_finished_total",
			"comfygate_fleet_queue_depth",
			"comfygate_http_request_duration_seconds",
			"go_goroutines",
		} {
			if !strings.Contains(m, series) {
				t.Errorf("/metrics lacks %s", series)
			}
		}
	})

	t.Run("every surface on one listener", func(t *testing.T) {
		noRedirect := *c.http
		noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := noRedirect.Get(c.base + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/ui/" {
			t.Fatalf("GET / = %d to %q, want 302 to /ui/", resp.StatusCode, resp.Header.Get("Location"))
		}
		if r := c.must(http.StatusOK, "GET", "/ui/", nil); !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("web UI content type %q", r.Header.Get("Content-Type"))
		}
		var flask struct{ Workflows []string }
		c.must(http.StatusOK, "GET", "/api/workflows", nil).decode(t, &flask)
		if !slices.Contains(flask.Workflows, "t2i") {
			t.Fatalf("Flask-compatible /api/workflows = %v, want t2i listed", flask.Workflows)
		}
		var e apiError
		c.must(http.StatusNotFound, "GET", "/v1/no/such/route", nil).decode(t, &e)
		if e.Error.Code == "" {
			t.Fatal("unknown /v1 route: no JSON error body")
		}
		// The ComfyUI-compatible surface answers ComfyUI's routes here too,
		// and passes unknown ones (custom nodes' routes) to a backend, whose
		// own answer comes back.
		var info struct {
			ExecInfo struct {
				QueueRemaining *int `json:"queue_remaining"`
			} `json:"exec_info"`
		}
		c.must(http.StatusOK, "GET", "/prompt", nil).decode(t, &info)
		if info.ExecInfo.QueueRemaining == nil {
			t.Fatal("GET /prompt: no exec_info.queue_remaining")
		}
		if r := c.must(http.StatusNotFound, "GET", "/no/such/route", nil); !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
			t.Fatalf("unknown root route: content type %q, want the backend's plain-text 404", r.Header.Get("Content-Type"))
		}
	})

	t.Run("backends", func(t *testing.T) {
		var list api.BackendList
		c.must(http.StatusOK, "GET", "/v1/backends", nil).decode(t, &list)
		if len(list.Backends) != 1 || list.Backends[0].ID != "backend-1" || list.Backends[0].State != "healthy" {
			t.Fatalf("backends = %+v, want one healthy backend-1", list.Backends)
		}
	})
}

// unknownClassBody is a raw prompt whose output depends on a node class no
// backend has.
func unknownClassBody(tb testing.TB) string {
	var g map[string]map[string]any
	if err := json.Unmarshal(txt2imgGraph(tb), &g); err != nil {
		tb.Fatal(err)
	}
	g["8"]["class_type"] = "NoSuchNode"
	b, err := json.Marshal(map[string]any{"prompt": g})
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}
