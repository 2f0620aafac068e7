package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/client"
	"github.com/comfygate/comfygate/internal/httpapi"
)

// submitted is what the server was asked: the request line and the
// submission the route made of it.
type submitted struct {
	Route string
	Req   api.SubmitJobRequest
	Key   string
}

// recordingServer serves the memory gateway and records every
// submission with the route it came through.
func recordingServer(tb testing.TB) (*httptest.Server, func() []submitted) {
	tb.Helper()
	m := newMemory()
	svc := m.service()
	var mu sync.Mutex
	var got []submitted
	svc.SubmitJobFunc = func(ctx context.Context, owner string, req api.SubmitJobRequest, key string) (api.Job, bool, error) {
		mu.Lock()
		got = append(got, submitted{Route: ctx.Value(routeKey{}).(string), Req: req, Key: key})
		mu.Unlock()
		return m.submit(ctx, owner, req, key)
	}
	s, err := httpapi.New(svc, httpapi.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		line := r.Method + " " + r.URL.RequestURI()
		s.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), routeKey{}, line)))
	}))
	tb.Cleanup(func() { s.Drain(); ts.Close() })
	return ts, func() []submitted {
		mu.Lock()
		defer mu.Unlock()
		return append([]submitted(nil), got...)
	}
}

type routeKey struct{}

func TestRunWorkflow(t *testing.T) {
	t.Parallel()
	ts, got := recordingServer(t)
	c := newClient(t, ts)
	ctx := testCtx(t)

	job, err := c.RunWorkflow(ctx, "txt2img", api.RunWorkflowRequest{Params: map[string]any{"prompt": "a heron"}, Priority: 5},
		client.IdempotencyKey("k1"), client.Wait(time.Minute))
	if err != nil || job.State != api.StateSucceeded || job.Workflow != "txt2img" {
		t.Fatalf("RunWorkflow = %+v, %v; want txt2img succeeded (waited for)", job, err)
	}
	if _, err := c.RunWorkflow(ctx, "txt2img", api.RunWorkflowRequest{}); err != nil {
		t.Fatalf("RunWorkflow with defaults: %v", err)
	}
	want := []submitted{
		{Route: "POST /v1/workflows/txt2img/jobs?wait=1m0s", Key: "k1",
			Req: api.SubmitJobRequest{Workflow: "txt2img", Params: map[string]any{"prompt": "a heron"}, Priority: 5}},
		{Route: "POST /v1/workflows/txt2img/jobs", Req: api.SubmitJobRequest{Workflow: "txt2img"}},
	}
	if diff := cmp.Diff(want, got()); diff != "" {
		t.Errorf("submissions (-want +got):\n%s", diff)
	}

	for _, tc := range []struct {
		name, workflow string
		status         int
		field          string
	}{
		{name: "unknown workflow", workflow: "nope", status: http.StatusNotFound},
		{name: "name with a slash stays one path segment", workflow: "a/b", status: http.StatusBadRequest, field: "name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.RunWorkflow(ctx, tc.workflow, api.RunWorkflowRequest{})
			var apiErr *client.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != tc.status || apiErr.Field != tc.field {
				t.Errorf("RunWorkflow(%q) = %v, want %d naming %q", tc.workflow, err, tc.status, tc.field)
			}
		})
	}
}
