package httpapi_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/internal/httpapi"
	"github.com/comfygate/comfygate/internal/httpapi/httpapitest"
)

// TestRunWorkflow: POST /v1/workflows/{name}/jobs is POST /v1/jobs for the
// named workflow, which is what the per-workflow operations of
// /openapi.json document.
func TestRunWorkflow(t *testing.T) {
	t.Parallel()
	var (
		mu   sync.Mutex
		last submitCall
	)
	svc := &httpapitest.Service{
		SubmitJobFunc: func(_ context.Context, owner string, req api.SubmitJobRequest, key string) (api.Job, bool, error) {
			mu.Lock()
			defer mu.Unlock()
			last = submitCall{owner, req, key}
			return queuedJob("j1"), false, nil
		},
	}
	_, ts := start(t, svc, httpapi.Config{})
	tests := []struct {
		name, path, body string
		wantStatus       int
		wantReq          api.SubmitJobRequest
		wantField        string
	}{
		{name: "params", path: "/v1/workflows/txt2img/jobs", body: `{"params": {"seed": 18446744073709551615}, "priority": 3}`, wantStatus: 201,
			wantReq: api.SubmitJobRequest{Workflow: "txt2img", Priority: 3, Params: map[string]any{"seed": json.Number("18446744073709551615")}}},
		{name: "empty body", path: "/v1/workflows/upscale.v2/jobs", wantStatus: 201, wantReq: api.SubmitJobRequest{Workflow: "upscale.v2"}},
		{name: "workflow in the body", path: "/v1/workflows/txt2img/jobs", body: `{"workflow": "other"}`, wantStatus: 400, wantField: "workflow"},
		{name: "bad priority", path: "/v1/workflows/txt2img/jobs", body: `{"priority": 500}`, wantStatus: 400, wantField: "priority"},
		{name: "bad name", path: "/v1/workflows/-x/jobs", body: `{}`, wantStatus: 400, wantField: "name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := doJSON(t, ts, "POST", tc.path, tc.body, "Idempotency-Key", "k")
			if res.status != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", res.status, tc.wantStatus, res.body)
			}
			if tc.wantField != "" {
				if got := decode[api.ErrorResponse](t, res).Error.Field; got != tc.wantField {
					t.Errorf("field %q, want %q", got, tc.wantField)
				}
				return
			}
			mu.Lock()
			got := last
			mu.Unlock()
			if diff := cmp.Diff(submitCall{req: tc.wantReq, key: "k"}, got, cmp.AllowUnexported(submitCall{})); diff != "" {
				t.Errorf("submission (-want +got):\n%s", diff)
			}
			if res.header.Get("Location") != "/v1/jobs/j1" {
				t.Errorf("Location %q", res.header.Get("Location"))
			}
		})
	}
}
