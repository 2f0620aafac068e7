package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/internal/gateway"
	"github.com/comfygate/comfygate/internal/httpapi"
	"github.com/comfygate/comfygate/internal/httpapi/httpapitest"
)

// errService answers every call with err, so that each route's error
// mapping can be driven from the table.
func errService(err error) *httpapitest.Service {
	return &httpapitest.Service{
		SubmitJobFunc: func(context.Context, string, api.SubmitJobRequest, string) (api.Job, bool, error) {
			return api.Job{}, false, err
		},
		GetJobFunc:    func(context.Context, string, string) (api.Job, error) { return api.Job{}, err },
		ListJobsFunc:  func(context.Context, string, api.JobQuery) (api.JobList, error) { return api.JobList{}, err },
		CancelJobFunc: func(context.Context, string, string) (api.Job, error) { return api.Job{}, err },
		SubscribeJobFunc: func(context.Context, string, string, string) (httpapi.Stream, error) {
			return nil, err
		},
		PutWorkflowFunc: func(context.Context, string, string, []byte) (api.Workflow, bool, error) {
			return api.Workflow{}, false, err
		},
		GetWorkflowFunc:    func(context.Context, string, string) (api.Workflow, error) { return api.Workflow{}, err },
		ListWorkflowsFunc:  func(context.Context, string) ([]api.Workflow, error) { return nil, err },
		DeleteWorkflowFunc: func(context.Context, string, string) error { return err },
		UploadFunc: func(_ context.Context, _ string, r io.Reader, _, _ string) (api.Upload, error) {
			if _, cerr := io.Copy(io.Discard, r); cerr != nil {
				return api.Upload{}, fmt.Errorf("store upload: %w", cerr)
			}
			return api.Upload{}, err
		},
		OpenArtifactFunc: func(context.Context, string, string) (httpapi.Artifact, error) { return nil, err },
		BackendsFunc:     func(context.Context) ([]api.Backend, error) { return nil, err },
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	notFound := fmt.Errorf("job x: %w", gateway.ErrNotFound)
	secret := errors.New("dial tcp 10.0.0.5:5432: password=hunter2 refused")
	tests := []struct {
		name              string
		method, path      string
		body              string
		hdr               []string
		svcErr            error
		wantStatus        int
		wantCode, wantFld string
		wantMsg           string // substring of the message
	}{
		// Workflows.
		{name: "put bad name", method: "PUT", path: "/v1/workflows/-bad", body: `{}`, wantStatus: 400, wantCode: api.CodeInvalidRequest, wantFld: "name"},
		{name: "put long name", method: "PUT", path: "/v1/workflows/" + strings.Repeat("a", 129), body: `{}`, wantStatus: 400, wantCode: api.CodeInvalidRequest, wantFld: "name"},
		{name: "put malformed json", method: "PUT", path: "/v1/workflows/a", body: `{"graph": }`, wantStatus: 400, wantCode: api.CodeInvalidJSON, wantFld: "body", wantMsg: "byte offset 11"},
		{name: "put not an object", method: "PUT", path: "/v1/workflows/a", body: `[1]`, wantStatus: 400, wantCode: api.CodeInvalidJSON, wantFld: "body", wantMsg: "JSON object"},
		{name: "put empty", method: "PUT", path: "/v1/workflows/a", wantStatus: 400, wantCode: api.CodeInvalidJSON, wantFld: "body", wantMsg: "empty"},
		{name: "put too large", method: "PUT", path: "/v1/workflows/a", body: `{"graph":"` + strings.Repeat("x", 2048) + `"}`, wantStatus: 413, wantCode: api.CodeTooLarge, wantFld: "body", wantMsg: "1024 bytes"},
		{name: "put invalid graph", method: "PUT", path: "/v1/workflows/a", body: `{}`, svcErr: &gateway.InputError{Field: "graph", Problem: "is required"}, wantStatus: 400, wantCode: api.CodeInvalidRequest, wantFld: "graph", wantMsg: "is required"},
		{name: "put unrunnable", method: "PUT", path: "/v1/workflows/a", body: `{}`, svcErr: &gateway.UnrunnableError{Message: "no backend has node Foo"}, wantStatus: 422, wantCode: api.CodeUnrunnable, wantMsg: "node Foo"},
		{name: "get workflow missing", method: "GET", path: "/v1/workflows/a", svcErr: fmt.Errorf("workflow a: %w", gateway.ErrNotFound), wantStatus: 404, wantCode: api.CodeNotFound, wantMsg: "workflow a"},
		{name: "delete workflow missing", method: "DELETE", path: "/v1/workflows/a", svcErr: gateway.ErrNotFound, wantStatus: 404, wantCode: api.CodeNotFound},
		{name: "list workflows internal", method: "GET", path: "/v1/workflows", svcErr: secret, wantStatus: 500, wantCode: api.CodeInternal},

		// Submit: body decoding.
		{name: "submit malformed", method: "POST", path: "/v1/jobs", body: `{"workflow": "a",}`, wantStatus: 400, wantCode: api.CodeInvalidJSON, wantFld: "body", wantMsg: "byte offset 18"},
		{name: "submit truncated", method: "POST", path: "/v1/jobs", body: `{"workflow": "a"`, wantStatus: 400, wantCode: api.CodeInvalidJSON, wantFld: "body", wantMsg: "ends at byte offset 16, inside the top-level object"},
		{name: "submit cut in a value", method: "POST", path: "/v1/jobs", body: `{"workflow": "a", "params": {"prompt": "a red`, wantStatus: 400, wantCode: api.CodeInvalidJSON, wantFld: "params.prompt", wantMsg: "ends at byte offset 45, inside params.prompt"},
		{name: "submit cut after a key", method: "POST", path: "/v1/jobs", body: `{"workflow": "a", "params": {"seed":`, wantStatus: 400, wantCode: api.CodeInvalidJSON, wantFld: "params.seed", wantMsg: "byte offset 36"},
		{name: "submit cut in a list", method: "POST", path: "/v1/jobs", body: `{"prompt": {"3": {"inputs": {"model": ["4", 0`, wantStatus: 400, wantCode: api.CodeInvalidJSON, wantFld: "prompt.3.inputs.model", wantMsg: "byte offset 45"},
		{name: "put cut in the graph", method: "PUT", path: "/v1/workflows/a", body: `{"graph": {"1": {"class_type": "Save`, wantStatus: 400, wantCode: api.CodeInvalidJSON, wantFld: "graph.1.class_type", wantMsg: "ends at byte offset 36, inside graph.1.class_type"},
		{name: "submit empty", method: "POST", path: "/v1/jobs", wantStatus: 400, wantCode: api.CodeInvalidJSON, wantFld: "body", wantMsg: "empty"},
		{name: "submit array body", method: "POST", path: "/v1/jobs", body: `[1]`, wantStatus: 400, wantCode: api.CodeInvalidRequest, wantFld: "body", wantMsg: "must be an object, not array"},
		{name: "submit trailing data", method: "POST", path: "/v1/jobs", body: `{"workflow":"a"} {}`, wantStatus: 400, wantCode: api.CodeInvalidJSON, wantFld: "body", wantMsg: "after the JSON value"},
		{name: "submit unknown field", method: "POST", path: "/v1/jobs", body: `{"workflow":"a","x":1}`, wantStatus: 400, wantCode: api.CodeInvalidRequest, wantFld: "x", wantMsg: `unknown field "x"`},
		{name: "submit wrong type", method: "POST", path: "/v1/jobs", body: `{"workflow":"a","priority":"high"}`, wantStatus: 400, wantCode: api.CodeInvalidRequest, wantFld: "priority", wantMsg: "must be an integer, not string"},
		{name: "submit fractional priority", method: "POST", path: "/v1/jobs", body: `{"workflow":"a","priority":1.5}`, wantStatus: 400, wantCode: api.CodeInvalidRequest, wantFld: "priority"},
		{name: "submit params not object", method: "POST", path: "/v1/jobs", body: `{"workflow":"a","params":[1]}`, wantStatus: 400, wantCode: api.CodeInvalidRequest, wantFld: "params", wantMsg: "must be an object"},
		{name: "submit override inputs wrong", method: "POST", path: "/v1/jobs", body: `{"prompt":{},"overrides":{"3":{"inputs":7}}}`, wantStatus: 400, wantCode: api.CodeInvalidRequest, wantFld: "overrides.inputs"},
		{name: "submit neither", method: "POST", path: "/v1/jobs", body: `{}`, wantStatus: 400, wantCode: api.CodeInvalidRequest, wantFld: "workflow", wantMsg: "required"},
		{name: "submit null prompt", method: "POST", path: "/v1/jobs", body: `{"prompt":null}`, wantStatus: 400, wantCode: api.CodeInvalidRequest, wantFld: "workflow"},
		{name: "submit both", method: "POST", path: "/v1/jobs", body: `{"workflow":"a","prompt":{}}`, wantStatus: 400, wantCode: api.CodeInvalidRequest, wantFld: "prompt", wantMsg: "not both"},
		{name: "submit prompt not object", method: "POST", path: "/v1/jobs", body: `{"prompt":[1]}`, wantStatus: 400, wantCode: api.CodeInvalidRequest, wantFld: "prompt", wantMsg: "JSON object"},
		{name: "submit bad workflow name", method: "POST", path: "/v1/jobs", body: `{"workflow":"../x"}`, wantStatus: 400, wantCode: api.CodeInvalidRequest, wantFld: "workflow"},
		{name: "submit priority high", method: "POST", path: "/v1/jobs", body: `{"workflow":"a","priority":101}`, wantStatus: 400, wantCode: api.CodeInvalidRequest, wantFld: "priority", wantMsg: "from -100 to 100, got 101"},
		{name: "submit priority low", method: "POST", path: "/v1/jobs", body: `{"workflow":"a","priority":-101}`, wantStatus: 400, wantCode: api.CodeInvalidRequest, wantFld: "priority"},
		{name: "submit version alone", method: "POST", path: "/v1/jobs", body: `{"prompt":{},"version":"abc"}`, wantStatus: 400, wantCode: api.CodeInvalidRequest, wantFld: "version"},
		{name: "submit bad webhook", method: "POST", path: "/v1/jobs", body: `{"workflow":"a","webhook":"ftp://x/y"}`, wantStatus: 400, wantCode: api.CodeInvalidRequest, wantFld: "webhook"},
		{name: "submit override without inputs", method: "POST", path: "/v1/jobs", body: `{"prompt":{},"overrides":{"3":{}}}`, wantStatus: 400, wantCode: api.CodeInvalidRequest, wantFld: "overrides.3.inputs"},
		{name: "submit too large", method: "POST", path: "/v1/jobs", body: `{"workflow":"a","params":{"p":"` + strings.Repeat("x", 2048) + `"}}`, wantStatus: 413, wantCode: api.CodeTooLarge, wantFld: "body"},

		// Submit: query and headers.
		{name: "submit bad wait", method: "POST", path: "/v1/jobs?wait=soon", body: `{"workflow":"a"}`, wantStatus: 400, wantCode: api.CodeInvalidRequest, wantFld: "wait", wantMsg: "duration"},
		{name: "submit wait too long", method: "POST", path: "/v1/jobs?wait=11m", body: `{"workflow":"a"}`, wantStatus: 400, wantCode: api.CodeInvalidRequest, wantFld: "wait", wantMsg: "at most 10m0s"},
		{name: "submit negative wait", method: "POST", path: "/v1/jobs?wait=-1s", body: `{"workflow":"a"}`, wantStatus: 400, wantCode: api.CodeInvalidRequest, wantFld: "wait"},
		{name: "submit long idempotency key", method: "POST", path: "/v1/jobs", body: `{"workflow":"a"}`, hdr: []string{"Idempotency-Key", strings.Repeat("k", 256)}, wantStatus: 400, wantCode: api.CodeInvalidRequest, wantFld: "Idempotency-Key", wantMsg: "255"},

		// Submit: service errors.
		{name: "submit unknown workflow", method: "POST", path: "/v1/jobs", body: `{"workflow":"a"}`, svcErr: fmt.Errorf("workflow a: %w", gateway.ErrNotFound), wantStatus: 404, wantCode: api.CodeNotFound},
		{name: "submit bad param", method: "POST", path: "/v1/jobs", body: `{"workflow":"a"}`, svcErr: &gateway.InputError{Field: "params.steps", Problem: "must be at most 150"}, wantStatus: 400, wantCode: api.CodeInvalidRequest, wantFld: "params.steps", wantMsg: "at most 150"},
		{name: "submit invalid graph", method: "POST", path: "/v1/jobs", body: `{"prompt":{}}`, svcErr: &gateway.InputError{Problem: "Prompt outputs failed validation", NodeErrors: map[string]any{"3": map[string]any{"class_type": "KSampler"}}}, wantStatus: 400, wantCode: api.CodeInvalidPrompt},
		{name: "submit key reused", method: "POST", path: "/v1/jobs", body: `{"workflow":"a"}`, svcErr: &gateway.ConflictError{Code: "idempotency_key_reused", Message: "key used with another body"}, wantStatus: 409, wantCode: "idempotency_key_reused"},
		{name: "submit forbidden", method: "POST", path: "/v1/jobs", body: `{"workflow":"a"}`, svcErr: &gateway.ForbiddenError{Message: "not your upload"}, wantStatus: 403, wantCode: api.CodeForbidden},
		{name: "submit overloaded", method: "POST", path: "/v1/jobs", body: `{"workflow":"a"}`, svcErr: &gateway.OverloadError{Message: "queue full", RetryAfter: 1500e6}, wantStatus: 503, wantCode: api.CodeOverloaded},
		{name: "submit deadline", method: "POST", path: "/v1/jobs", body: `{"workflow":"a"}`, svcErr: fmt.Errorf("store: %w", context.DeadlineExceeded), wantStatus: 504, wantCode: api.CodeTimeout},

		// Job queries.
		{name: "list bad state", method: "GET", path: "/v1/jobs?state=queued,done", wantStatus: 400, wantCode: api.CodeInvalidRequest, wantFld: "state", wantMsg: `"done"`},
		{name: "list zero limit", method: "GET", path: "/v1/jobs?limit=0", wantStatus: 400, wantCode: api.CodeInvalidRequest, wantFld: "limit"},
		{name: "list big limit", method: "GET", path: "/v1/jobs?limit=1001", wantStatus: 400, wantCode: api.CodeInvalidRequest, wantFld: "limit", wantMsg: "1 to 1000"},
		{name: "list text limit", method: "GET", path: "/v1/jobs?limit=ten", wantStatus: 400, wantCode: api.CodeInvalidRequest, wantFld: "limit"},
		{name: "list bad workflow", method: "GET", path: "/v1/jobs?workflow=a%20b", wantStatus: 400, wantCode: api.CodeInvalidRequest, wantFld: "workflow"},
		{name: "list long cursor", method: "GET", path: "/v1/jobs?cursor=" + strings.Repeat("c", 1025), wantStatus: 400, wantCode: api.CodeInvalidRequest, wantFld: "cursor"},
		{name: "get missing", method: "GET", path: "/v1/jobs/x", svcErr: notFound, wantStatus: 404, wantCode: api.CodeNotFound, wantMsg: "job x"},
		{name: "get bad wait", method: "GET", path: "/v1/jobs/x?wait=1h", wantStatus: 400, wantCode: api.CodeInvalidRequest, wantFld: "wait"},
		{name: "get control id", method: "GET", path: "/v1/jobs/a%01b", wantStatus: 400, wantCode: api.CodeInvalidRequest, wantFld: "id"},
		{name: "cancel missing", method: "POST", path: "/v1/jobs/x/cancel", svcErr: notFound, wantStatus: 404, wantCode: api.CodeNotFound},
		{name: "cancel finished", method: "POST", path: "/v1/jobs/x/cancel", svcErr: &gateway.ConflictError{Code: "job_finished", Message: "job x already succeeded"}, wantStatus: 409, wantCode: "job_finished"},
		{name: "backends internal", method: "GET", path: "/v1/backends", svcErr: secret, wantStatus: 500, wantCode: api.CodeInternal},

		// Streams refuse before they start.
		{name: "events missing", method: "GET", path: "/v1/jobs/x/events", svcErr: notFound, wantStatus: 404, wantCode: api.CodeNotFound},
		{name: "events bad header id", method: "GET", path: "/v1/jobs/x/events", hdr: []string{"Last-Event-ID", "abc"}, wantStatus: 400, wantCode: api.CodeInvalidRequest, wantFld: "Last-Event-ID"},
		{name: "events bad query id", method: "GET", path: "/v1/jobs/x/events?last_event_id=1.2.3", wantStatus: 400, wantCode: api.CodeInvalidRequest, wantFld: "last_event_id"},
		{name: "ws missing", method: "GET", path: "/v1/jobs/x/ws", svcErr: notFound, wantStatus: 404, wantCode: api.CodeNotFound},
		{name: "ws bad id", method: "GET", path: "/v1/jobs/x/ws?last_event_id=-1", wantStatus: 400, wantCode: api.CodeInvalidRequest, wantFld: "last_event_id"},

		// Uploads and artifacts.
		{name: "upload no type", method: "POST", path: "/v1/uploads", body: "data", hdr: []string{"Content-Type", ""}, wantStatus: 415, wantCode: api.CodeUnsupportedMedia, wantFld: "Content-Type"},
		{name: "upload form encoded", method: "POST", path: "/v1/uploads", body: "a=b", hdr: []string{"Content-Type", "application/x-www-form-urlencoded"}, wantStatus: 415, wantCode: api.CodeUnsupportedMedia, wantFld: "Content-Type"},
		{name: "upload bad type", method: "POST", path: "/v1/uploads", body: "x", hdr: []string{"Content-Type", "image/"}, wantStatus: 400, wantCode: api.CodeInvalidRequest, wantFld: "Content-Type"},
		{name: "upload no file field", method: "POST", path: "/v1/uploads", body: "--B\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n--B--\r\n", hdr: []string{"Content-Type", "multipart/form-data; boundary=B"}, wantStatus: 400, wantCode: api.CodeInvalidRequest, wantFld: "file"},
		{name: "upload broken multipart", method: "POST", path: "/v1/uploads", body: "garbage", hdr: []string{"Content-Type", "multipart/form-data; boundary=B"}, wantStatus: 400, wantCode: api.CodeInvalidRequest, wantFld: "body"},
		{name: "upload rejected", method: "POST", path: "/v1/uploads", body: "x", hdr: []string{"Content-Type", "image/png"}, svcErr: &gateway.InputError{Field: "file", Problem: "is not an image"}, wantStatus: 400, wantCode: api.CodeInvalidRequest, wantFld: "file"},
		{name: "artifact missing", method: "GET", path: "/v1/artifacts/abc", svcErr: fmt.Errorf("artifact abc: %w", gateway.ErrNotFound), wantStatus: 404, wantCode: api.CodeNotFound},

		// Routing.
		{name: "no such route", method: "GET", path: "/v1/nothing", wantStatus: 404, wantCode: api.CodeNotFound},
		{name: "wrong method", method: "DELETE", path: "/v1/jobs", wantStatus: 405, wantCode: api.CodeMethodNotAllowed, wantMsg: "GET, HEAD, POST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, ts := start(t, errService(tt.svcErr), httpapi.Config{MaxJSONBytes: 1024})
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			hdr := append([]string{"Content-Type", "application/json"}, tt.hdr...)
			res := do(t, ts, tt.method, tt.path, body, hdr...)
			if res.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", res.status, tt.wantStatus, res.body)
			}
			e := errorOf(t, res)
			if e.Code != tt.wantCode || e.Field != tt.wantFld {
				t.Errorf("code, field = %q, %q; want %q, %q (message %q)", e.Code, e.Field, tt.wantCode, tt.wantFld, e.Message)
			}
			if !strings.Contains(e.Message, tt.wantMsg) {
				t.Errorf("message %q does not contain %q", e.Message, tt.wantMsg)
			}
			if strings.Contains(string(res.body), "hunter2") || strings.Contains(string(res.body), "10.0.0.5") {
				t.Errorf("response leaks the internal error: %s", res.body)
			}
		})
	}
}

func TestErrorHeaders(t *testing.T) {
	t.Parallel()
	t.Run("overload sets Retry-After", func(t *testing.T) {
		t.Parallel()
		_, ts := start(t, errService(&gateway.OverloadError{Message: "queue full", RetryAfter: 1500e6}), httpapi.Config{})
		res := doJSON(t, ts, "POST", "/v1/jobs", `{"workflow":"a"}`)
		if got := res.header.Get("Retry-After"); got != "2" {
			t.Errorf("Retry-After = %q, want 2 (1.5s rounded up)", got)
		}
	})
	t.Run("405 sets Allow", func(t *testing.T) {
		t.Parallel()
		_, ts := start(t, errService(nil), httpapi.Config{})
		res := do(t, ts, "PATCH", "/v1/workflows/a", nil)
		if got := res.header.Get("Allow"); got != "GET, HEAD, PUT, DELETE" {
			t.Errorf("Allow = %q", got)
		}
	})
	t.Run("node errors pass through", func(t *testing.T) {
		t.Parallel()
		nodeErrs := map[string]any{"3": map[string]any{"class_type": "KSampler"}}
		_, ts := start(t, errService(&gateway.InputError{Problem: "invalid", NodeErrors: nodeErrs}), httpapi.Config{})
		e := errorOf(t, doJSON(t, ts, "POST", "/v1/jobs", `{"prompt":{}}`))
		if fmt.Sprint(e.NodeErrors) != fmt.Sprint(nodeErrs) {
			t.Errorf("node_errors = %v, want %v", e.NodeErrors, nodeErrs)
		}
	})
}
