package flaskapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/comfygate/comfygate/internal/gateway"
	"github.com/comfygate/comfygate/internal/job"
)

type routeCase struct {
	name   string
	method string // default GET
	path   string
	body   string
	ctype  string // default application/json when there is a body
	owner  string // X-Owner; default "alice", "-" for none
	setup  func(*fakeService, *fakeStore, *Config)
	// submit is the submission the route must make, beyond what every
	// Flask submission has (see checkSubmit); nil: none.
	submit *job.Submission
}

func overrides(node string, inputs map[string]any) map[string]map[string]any {
	return map[string]map[string]any{node: inputs}
}

func txt2img(o map[string]map[string]any) *job.Submission {
	return &job.Submission{Workflow: "txt2img", Version: "v-txt2img", Overrides: o}
}

var runCases = []routeCase{
	{name: "run-simple-positive", method: "POST", path: "/api/workflow/txt2img", body: `{"prompt": "a red fox"}`,
		submit: txt2img(overrides("6", map[string]any{"text": "a red fox"}))},
	{name: "run-simple-target", method: "POST", path: "/api/workflow/txt2img", body: `{"prompt": "people", "target_node": "7"}`,
		submit: txt2img(overrides("7", map[string]any{"text": "people"}))},
	{name: "run-simple-target-number", method: "POST", path: "/api/workflow/txt2img", body: `{"prompt": "people", "target_node": 7, "extra": 1}`,
		ctype: "application/json; charset=utf-8", submit: txt2img(overrides("7", map[string]any{"text": "people"}))},
	{name: "run-simple-target-null", method: "POST", path: "/api/workflow/txt2img", body: `{"prompt": "fox", "target_node": null}`,
		submit: txt2img(overrides("6", map[string]any{"text": "fox"}))},
	{name: "run-simple-target-not-text", method: "POST", path: "/api/workflow/txt2img", body: `{"prompt": "x", "target_node": "3"}`},
	{name: "run-simple-target-missing", method: "POST", path: "/api/workflow/txt2img", body: `{"prompt": "x", "target_node": "42"}`},
	{name: "run-simple-target-bool", method: "POST", path: "/api/workflow/txt2img", body: `{"prompt": "x", "target_node": true}`},
	{name: "run-simple-linked-text", method: "POST", path: "/api/workflow/flux-text", body: `{"prompt": "a cat"}`,
		submit: &job.Submission{Workflow: "flux-text", Version: "v-flux-text", Overrides: overrides("6", map[string]any{"text": "a cat"})}},
	{name: "run-simple-text-multiline", method: "POST", path: "/api/workflow/flux-text", body: `{"prompt": "a cat", "target_node": "123"}`,
		submit: &job.Submission{Workflow: "flux-text", Version: "v-flux-text", Overrides: overrides("123", map[string]any{"text": "a cat"})}},
	{name: "run-simple-sdxl-pair", method: "POST", path: "/api/workflow/sdxl-pair", body: `{"prompt": "both"}`,
		submit: &job.Submission{Workflow: "sdxl-pair", Version: "v-sdxl-pair", Overrides: overrides("2", map[string]any{"text_g": "both", "text_l": "both"})}},
	{name: "run-simple-no-text-node", method: "POST", path: "/api/workflow/no-text", body: `{"prompt": "x"}`},
	{name: "run-simple-prompt-not-string", method: "POST", path: "/api/workflow/txt2img", body: `{"prompt": 5}`},
	{name: "run-advanced", method: "POST", path: "/api/workflow/txt2img",
		body: `{"6": {"inputs": {"text": "fox"}}, "3": {"seed": 18446744073709551615, "cfg": 6.5}}`,
		submit: txt2img(map[string]map[string]any{
			"6": {"text": "fox"},
			"3": {"seed": json.Number("18446744073709551615"), "cfg": json.Number("6.5")}})},
	{name: "run-advanced-empty", method: "POST", path: "/api/workflow/txt2img", body: `{}`,
		submit: txt2img(map[string]map[string]any{})},
	{name: "run-advanced-not-object", method: "POST", path: "/api/workflow/txt2img", body: `{"6": "fox"}`},
	{name: "run-advanced-inputs-not-object", method: "POST", path: "/api/workflow/txt2img", body: `{"6": {"inputs": ["fox"]}}`},
	{name: "run-advanced-unknown-node", method: "POST", path: "/api/workflow/txt2img", body: `{"99": {"inputs": {"text": "x"}}}`,
		submit: txt2img(overrides("99", map[string]any{"text": "x"})),
		setup: func(s *fakeService, _ *fakeStore, _ *Config) {
			s.SubmitFunc = func(context.Context, job.Submission) (gateway.Submitted, error) {
				return gateway.Submitted{}, &gateway.InputError{Field: "overrides.99", Problem: "no such node in the workflow"}
			}
		}},
	{name: "run-unknown-workflow", method: "POST", path: "/api/workflow/nope", body: `{"prompt": "x"}`},
	{name: "run-not-json", method: "POST", path: "/api/workflow/txt2img", body: `prompt=x`, ctype: "application/x-www-form-urlencoded"},
	{name: "run-bad-json", method: "POST", path: "/api/workflow/txt2img", body: `{"prompt": "x",}`},
	{name: "run-truncated-json", method: "POST", path: "/api/workflow/txt2img", body: `{"prompt": `},
	{name: "run-empty-body", method: "POST", path: "/api/workflow/txt2img", body: ``, ctype: "application/json"},
	{name: "run-trailing-data", method: "POST", path: "/api/workflow/txt2img", body: `{} {}`},
	{name: "run-array-body", method: "POST", path: "/api/workflow/txt2img", body: `["a"]`},
	{name: "run-too-large", method: "POST", path: "/api/workflow/txt2img", body: `{"prompt": "` + strings.Repeat("x", 100) + `"}`,
		setup: func(_ *fakeService, _ *fakeStore, c *Config) { c.MaxBodyBytes = 64 }},
	{name: "run-validation-error", method: "POST", path: "/api/workflow/txt2img", body: `{"prompt": "x"}`,
		submit: txt2img(overrides("6", map[string]any{"text": "x"})),
		setup: func(s *fakeService, _ *fakeStore, _ *Config) {
			s.SubmitFunc = func(context.Context, job.Submission) (gateway.Submitted, error) {
				return gateway.Submitted{}, &gateway.InputError{Field: "prompt.4.inputs.ckpt_name", Problem: "node 4 (CheckpointLoaderSimple): Value not in list",
					NodeErrors: map[string]any{"4": map[string]any{"class_type": "CheckpointLoaderSimple"}}}
			}
		}},
	{name: "run-overloaded", method: "POST", path: "/api/workflow/txt2img", body: `{"prompt": "x"}`,
		submit: txt2img(overrides("6", map[string]any{"text": "x"})),
		setup: func(s *fakeService, _ *fakeStore, _ *Config) {
			s.SubmitFunc = func(context.Context, job.Submission) (gateway.Submitted, error) {
				return gateway.Submitted{}, &gateway.OverloadError{Message: "queue is full (5 jobs waiting)", RetryAfter: 4500 * time.Millisecond}
			}
		}},
	{name: "run-unrunnable", method: "POST", path: "/api/workflow/txt2img", body: `{"prompt": "x"}`,
		submit: txt2img(overrides("6", map[string]any{"text": "x"})),
		setup: func(s *fakeService, _ *fakeStore, _ *Config) {
			s.SubmitFunc = func(context.Context, job.Submission) (gateway.Submitted, error) {
				return gateway.Submitted{}, &gateway.UnrunnableError{Message: "no backend has node class KSampler"}
			}
		}},
	{name: "run-internal-error", method: "POST", path: "/api/workflow/txt2img", body: `{"prompt": "x"}`,
		submit: txt2img(overrides("6", map[string]any{"text": "x"})),
		setup: func(s *fakeService, _ *fakeStore, _ *Config) {
			s.SubmitFunc = func(context.Context, job.Submission) (gateway.Submitted, error) {
				return gateway.Submitted{}, errors.New("disk I/O error at /var/lib/comfygate")
			}
		}},
	{name: "run-unauthorized", method: "POST", path: "/api/workflow/txt2img", body: `{"prompt": "x"}`, owner: "-"},
	{name: "run-panic", method: "POST", path: "/api/workflow/txt2img", body: `{"prompt": "x"}`,
		submit: txt2img(overrides("6", map[string]any{"text": "x"})),
		setup: func(s *fakeService, _ *fakeStore, _ *Config) {
			s.SubmitFunc = func(context.Context, job.Submission) (gateway.Submitted, error) { panic("boom") }
		}},
}

var infoCases = []routeCase{
	{name: "test-comfy-ready", path: "/api/test_comfy"},
	{name: "test-comfy-not-ready", path: "/api/test_comfy", setup: func(s *fakeService, _ *fakeStore, _ *Config) {
		s.ReadyFunc = func(context.Context) error { return errors.New("no healthy backend") }
	}},
	{name: "test-comfy-base-url", path: "/api/test_comfy", setup: func(_ *fakeService, _ *fakeStore, c *Config) {
		c.BaseURL = "https://gw.example.com/"
	}},
	{name: "workflows", path: "/api/workflows"},
	{name: "workflows-error", path: "/api/workflows", setup: func(s *fakeService, _ *fakeStore, _ *Config) {
		s.ListWorkflowsFunc = func(context.Context, string) ([]gateway.Workflow, error) {
			return nil, errors.New("database is locked")
		}
	}},
	{name: "prefix-workflows", path: "/flask/api/workflows"},
	{name: "prefix-unknown-route", path: "/flask/api/nope"},
	{name: "prefix-wrong-method", method: "DELETE", path: "/flask/api/workflows"},
}

func TestRoutes(t *testing.T) {
	t.Parallel()
	for _, group := range [][]routeCase{runCases, infoCases, statusCases, historyCases} {
		for _, tc := range group {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				rec, svc := serveCase(t, tc)
				checkGolden(t, tc.name, recorded(rec))
				checkSubmit(t, svc, tc.submit)
			})
		}
	}
}

// serveCase runs one request through a handler over fresh fakes.
func serveCase(tb testing.TB, tc routeCase) (*httptest.ResponseRecorder, *fakeService) {
	tb.Helper()
	svc, store := newFakes(tb)
	cfg := Config{Service: svc, Owner: headerOwner, Now: func() time.Time { return t0 }}
	if tc.setup != nil {
		tc.setup(svc, store, &cfg)
	}
	h, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	req := httptest.NewRequest(orDefault(tc.method, "GET"), tc.path, strings.NewReader(tc.body))
	if tc.body != "" || tc.ctype != "" {
		req.Header.Set("Content-Type", orDefault(tc.ctype, "application/json"))
	}
	if owner := orDefault(tc.owner, "alice"); owner != "-" {
		req.Header.Set("X-Owner", owner)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec, svc
}

// checkSubmit compares the one submission made with want, completed with
// what every Flask submission carries: its source, the caller, and the
// client id the answer names.
func checkSubmit(tb testing.TB, svc *fakeService, want *job.Submission) {
	tb.Helper()
	got := svc.Submitted()
	if want == nil {
		if len(got) != 0 {
			tb.Errorf("submitted %+v, want no job", got)
		}
		return
	}
	if len(got) != 1 {
		tb.Fatalf("submitted %d jobs, want 1", len(got))
	}
	full := *want
	full.Source, full.Owner, full.ClientID = job.SourceFlask, "alice", fmt.Sprintf("my-api-%d", t0.Unix())
	if diff := cmp.Diff(full, got[0]); diff != "" {
		tb.Errorf("submitted job (-want +got):\n%s", diff)
	}
}
