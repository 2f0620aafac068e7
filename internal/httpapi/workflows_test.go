package httpapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/internal/httpapi"
	"github.com/comfygate/comfygate/internal/httpapi/httpapitest"
)

func TestWorkflows(t *testing.T) {
	t.Parallel()
	wf := api.Workflow{Name: "txt2img", Version: "v1", Graph: []byte(`{"3":{}}`), Params: []api.Param{{Name: "steps", Target: "3.inputs.steps", Type: "integer"}},
		Schema: map[string]any{"type": "object"}, CreatedAt: testTime, UpdatedAt: testTime}
	var gotBody string
	stored := map[string]bool{"txt2img": true}
	svc := &httpapitest.Service{
		PutWorkflowFunc: func(_ context.Context, _, name string, body []byte) (api.Workflow, bool, error) {
			gotBody = string(body)
			created := !stored[name]
			stored[name] = true
			w := wf
			w.Name = name
			return w, created, nil
		},
		GetWorkflowFunc:    func(_ context.Context, _, name string) (api.Workflow, error) { return wf, nil },
		ListWorkflowsFunc:  func(context.Context, string) ([]api.Workflow, error) { return []api.Workflow{wf}, nil },
		DeleteWorkflowFunc: func(context.Context, string, string) error { return nil },
	}
	_, ts := start(t, svc, httpapi.Config{})

	t.Run("put creates", func(t *testing.T) {
		res := doJSON(t, ts, "PUT", "/v1/workflows/new.flow_1", `{"graph":{"3":{}}}`)
		if res.status != http.StatusCreated || res.header.Get("Location") != "/v1/workflows/new.flow_1" {
			t.Fatalf("status %d, Location %q; body %s", res.status, res.header.Get("Location"), res.body)
		}
		if gotBody != `{"graph":{"3":{}}}` {
			t.Errorf("service got body %q, want it verbatim", gotBody)
		}
		if got := decode[api.Workflow](t, res); got.Name != "new.flow_1" {
			t.Errorf("name = %q", got.Name)
		}
	})
	t.Run("put replaces", func(t *testing.T) {
		res := doJSON(t, ts, "PUT", "/v1/workflows/txt2img", `{"3":{}}`)
		if res.status != http.StatusOK || res.header.Get("Location") != "" {
			t.Fatalf("status %d, Location %q, want 200 and none", res.status, res.header.Get("Location"))
		}
	})
	t.Run("get", func(t *testing.T) {
		res := do(t, ts, "GET", "/v1/workflows/txt2img", nil)
		if diff := cmp.Diff(wf, decode[api.Workflow](t, res)); res.status != 200 || diff != "" {
			t.Errorf("status %d; workflow (-want +got):\n%s", res.status, diff)
		}
	})
	t.Run("list", func(t *testing.T) {
		res := do(t, ts, "GET", "/v1/workflows", nil)
		if diff := cmp.Diff(api.WorkflowList{Workflows: []api.Workflow{wf}}, decode[api.WorkflowList](t, res)); diff != "" {
			t.Errorf("list (-want +got):\n%s", diff)
		}
	})
	t.Run("delete", func(t *testing.T) {
		res := do(t, ts, "DELETE", "/v1/workflows/txt2img", nil)
		if res.status != http.StatusNoContent || len(res.body) != 0 {
			t.Errorf("status %d, body %q; want 204 and empty", res.status, res.body)
		}
	})
}

func TestEmptyListsAreArrays(t *testing.T) {
	t.Parallel()
	svc := &httpapitest.Service{
		ListWorkflowsFunc: func(context.Context, string) ([]api.Workflow, error) { return nil, nil },
		ListJobsFunc:      func(context.Context, string, api.JobQuery) (api.JobList, error) { return api.JobList{}, nil },
		BackendsFunc:      func(context.Context) ([]api.Backend, error) { return nil, nil },
	}
	_, ts := start(t, svc, httpapi.Config{})
	for path, want := range map[string]string{
		"/v1/workflows": `{"workflows":[]}`,
		"/v1/jobs":      `{"jobs":[]}`,
		"/v1/backends":  `{"backends":[]}`,
	} {
		if res := do(t, ts, "GET", path, nil); string(res.body) != want+"\n" {
			t.Errorf("GET %s = %q, want %q", path, res.body, want)
		}
	}
}
