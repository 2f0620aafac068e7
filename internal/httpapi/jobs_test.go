package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/internal/gateway"
	"github.com/comfygate/comfygate/internal/httpapi"
	"github.com/comfygate/comfygate/internal/httpapi/httpapitest"
)

// submitCall records what the service was asked.
type submitCall struct {
	owner string
	req   api.SubmitJobRequest
	key   string
}

func TestSubmitJob(t *testing.T) {
	t.Parallel()
	var (
		mu    sync.Mutex
		calls []submitCall
	)
	svc := &httpapitest.Service{
		SubmitJobFunc: func(_ context.Context, owner string, req api.SubmitJobRequest, key string) (api.Job, bool, error) {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, submitCall{owner, req, key})
			return queuedJob("job/1"), key == "seen", nil
		},
	}
	_, ts := start(t, svc, httpapi.Config{})
	last := func() submitCall {
		mu.Lock()
		defer mu.Unlock()
		return calls[len(calls)-1]
	}

	t.Run("created", func(t *testing.T) {
		res := doJSON(t, ts, "POST", "/v1/jobs", `{"workflow":"txt2img","params":{"seed":18446744073709551615,"cfg":7.5},"priority":5}`, "Idempotency-Key", "k-1")
		if res.status != http.StatusCreated {
			t.Fatalf("status %d; body %s", res.status, res.body)
		}
		if loc := res.header.Get("Location"); loc != "/v1/jobs/job%2F1" {
			t.Errorf("Location = %q", loc)
		}
		if res.header.Get("Idempotent-Replayed") != "" {
			t.Errorf("a new job is marked replayed")
		}
		if diff := cmp.Diff(queuedJob("job/1"), decode[api.Job](t, res)); diff != "" {
			t.Errorf("job (-want +got):\n%s", diff)
		}
		want := submitCall{key: "k-1", req: api.SubmitJobRequest{Workflow: "txt2img", Priority: 5,
			Params: map[string]any{"seed": json.Number("18446744073709551615"), "cfg": json.Number("7.5")}}}
		if diff := cmp.Diff(want, last(), cmp.AllowUnexported(submitCall{})); diff != "" {
			t.Errorf("service call (-want +got):\n%s", diff)
		}
	})
	t.Run("replayed", func(t *testing.T) {
		res := doJSON(t, ts, "POST", "/v1/jobs", `{"workflow":"txt2img"}`, "Idempotency-Key", "seen")
		if res.status != http.StatusCreated || res.header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("status %d, Idempotent-Replayed %q; want 201 and true", res.status, res.header.Get("Idempotent-Replayed"))
		}
	})
	t.Run("raw prompt", func(t *testing.T) {
		res := doJSON(t, ts, "POST", "/v1/jobs", `{"prompt":{"3":{"class_type":"KSampler","inputs":{"seed":1}}},"overrides":{"3":{"inputs":{"seed":2}}}}`)
		if res.status != http.StatusCreated {
			t.Fatalf("status %d; body %s", res.status, res.body)
		}
		got := last().req
		if string(got.Prompt) != `{"3":{"class_type":"KSampler","inputs":{"seed":1}}}` || got.Overrides["3"].Inputs["seed"] != json.Number("2") {
			t.Errorf("service got prompt %s, overrides %v", got.Prompt, got.Overrides)
		}
	})
}

// waitingService has jobs that end when the test says so (done) or never.
func waitingService(done <-chan struct{}) *httpapitest.Service {
	return &httpapitest.Service{
		SubmitJobFunc: func(context.Context, string, api.SubmitJobRequest, string) (api.Job, bool, error) {
			return queuedJob("j1"), false, nil
		},
		GetJobFunc: func(_ context.Context, _, id string) (api.Job, error) { return queuedJob(id), nil },
		WaitJobFunc: func(ctx context.Context, _, id string) (api.Job, error) {
			if _, ok := ctx.Deadline(); !ok {
				return api.Job{}, context.Canceled // waits must be bounded
			}
			select {
			case <-done:
				j := queuedJob(id)
				j.State = api.StateSucceeded
				return j, nil
			case <-ctx.Done():
				return queuedJob(id), nil
			}
		},
	}
}

func TestWait(t *testing.T) {
	t.Parallel()
	finished := make(chan struct{})
	close(finished)
	tests := []struct {
		name       string
		done       <-chan struct{}
		method     string
		path       string
		wantStatus int
		wantState  api.JobState
	}{
		{"submit finishes in time", finished, "POST", "/v1/jobs?wait=5m", http.StatusCreated, api.StateSucceeded},
		{"submit runs out of wait", make(chan struct{}), "POST", "/v1/jobs?wait=10ms", http.StatusAccepted, api.StateQueued},
		{"submit wait in seconds", finished, "POST", "/v1/jobs?wait=30", http.StatusCreated, api.StateSucceeded},
		{"get finishes in time", finished, "GET", "/v1/jobs/j1?wait=1m", http.StatusOK, api.StateSucceeded},
		{"get runs out of wait", make(chan struct{}), "GET", "/v1/jobs/j1?wait=10ms", http.StatusOK, api.StateQueued},
		{"get without wait", finished, "GET", "/v1/jobs/j1", http.StatusOK, api.StateQueued},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, ts := start(t, waitingService(tt.done), httpapi.Config{})
			res := doJSON(t, ts, tt.method, tt.path, `{"workflow":"a"}`)
			if res.status != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %s", res.status, tt.wantStatus, res.body)
			}
			if got := decode[api.Job](t, res).State; got != tt.wantState {
				t.Errorf("state = %s, want %s", got, tt.wantState)
			}
		})
	}
}

func TestListJobsQuery(t *testing.T) {
	t.Parallel()
	var got api.JobQuery
	svc := &httpapitest.Service{
		ListJobsFunc: func(_ context.Context, _ string, q api.JobQuery) (api.JobList, error) {
			got = q
			return api.JobList{Jobs: []api.Job{queuedJob("a")}, NextCursor: "c2"}, nil
		},
	}
	_, ts := start(t, svc, httpapi.Config{})
	res := do(t, ts, "GET", "/v1/jobs?state=queued,running&state=failed&state=queued&workflow=txt2img&cursor=c1&limit=1000", nil)
	want := api.JobQuery{State: []api.JobState{api.StateQueued, api.StateRunning, api.StateFailed}, Workflow: "txt2img", Cursor: "c1", Limit: 1000}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("query (-want +got):\n%s", diff)
	}
	if list := decode[api.JobList](t, res); list.NextCursor != "c2" || len(list.Jobs) != 1 {
		t.Errorf("list = %+v", list)
	}
}

func TestCancelJob(t *testing.T) {
	t.Parallel()
	var gotID string
	svc := &httpapitest.Service{
		CancelJobFunc: func(_ context.Context, _, id string) (api.Job, error) {
			gotID = id
			j := queuedJob(id)
			j.State = api.StateCancelled
			return j, nil
		},
	}
	_, ts := start(t, svc, httpapi.Config{})
	res := do(t, ts, "POST", "/v1/jobs/j%209/cancel", nil)
	if res.status != http.StatusOK || gotID != "j 9" || decode[api.Job](t, res).State != api.StateCancelled {
		t.Errorf("status %d, id %q, body %s", res.status, gotID, res.body)
	}
}

func TestBackends(t *testing.T) {
	t.Parallel()
	bs := []api.Backend{{ID: "gpu0", URL: "http://127.0.0.1:8188", State: "healthy", Running: []string{}, Prefetch: []string{}}}
	svc := &httpapitest.Service{BackendsFunc: func(context.Context) ([]api.Backend, error) { return bs, nil }}
	_, ts := start(t, svc, httpapi.Config{})
	if diff := cmp.Diff(api.BackendList{Backends: bs}, decode[api.BackendList](t, do(t, ts, "GET", "/v1/backends", nil))); diff != "" {
		t.Errorf("backends (-want +got):\n%s", diff)
	}
}

func TestDeleteJob(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		path     string
		err      error
		status   int
		wantCode string
	}{
		{"deleted", "/v1/jobs/j%209", nil, http.StatusNoContent, ""},
		{"unknown or another key's", "/v1/jobs/j%209", fmt.Errorf("job %q: %w", "j 9", gateway.ErrNotFound), http.StatusNotFound, "not_found"},
		{"not finished", "/v1/jobs/j%209", &gateway.ConflictError{Code: "job_not_finished", Message: "job j 9 is running: cancel it first"},
			http.StatusConflict, "job_not_finished"},
		{"id too long", "/v1/jobs/" + strings.Repeat("x", 300), nil, http.StatusBadRequest, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var gotID string
			svc := &httpapitest.Service{DeleteJobFunc: func(_ context.Context, _, id string) error {
				gotID = id
				return tt.err
			}}
			_, ts := start(t, svc, httpapi.Config{})
			res := do(t, ts, "DELETE", tt.path, nil)
			if res.status != tt.status {
				t.Fatalf("status %d, want %d; body %s", res.status, tt.status, res.body)
			}
			if tt.status == http.StatusNoContent && (gotID != "j 9" || len(res.body) != 0) {
				t.Errorf("deleted id %q, body %q", gotID, res.body)
			}
			if tt.wantCode != "" {
				if e := decode[api.ErrorResponse](t, res); e.Error.Code != tt.wantCode || e.Error.Message == "" {
					t.Errorf("error %+v, want code %s and a message", e.Error, tt.wantCode)
				}
			}
		})
	}
}
