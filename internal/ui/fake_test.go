package ui_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/internal/httpapi"
	"github.com/comfygate/comfygate/internal/httpapi/httpapitest"
	"github.com/comfygate/comfygate/internal/ui"
)

// fakeAPI is the real REST transport over a hand-written service that
// offers one workflow with every kind of parameter and fails every job the
// way a GPU does, so the UI's form types and error report can be checked.
type fakeAPI struct {
	mu       sync.Mutex // guards the fields below
	uploaded []byte
	params   map[string]any
}

var fakeT0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// fakeWorkflow has a parameter of each type the form knows.
var fakeWorkflow = api.Workflow{
	Name: "edit", Version: "v1", Description: "Edit an image.",
	Params: []api.Param{
		{Name: "image", Type: "image", Description: "The picture to edit."},
		{Name: "caption", Type: "string", Default: "a cat", Description: "What the result shows."},
		{Name: "strength", Type: "number", Default: 0.5, Minimum: 0, Maximum: 1, Step: 0.05},
		{Name: "mode", Type: "string", Enum: []any{"quality", "fast"}, Default: "quality"},
		{Name: "upscale", Type: "boolean", Default: false},
	},
	Schema: map[string]any{"type": "object", "properties": map[string]any{
		"image":    map[string]any{"type": "string", "format": "image", "description": "The picture to edit."},
		"caption":  map[string]any{"type": "string", "default": "a cat", "description": "What the result shows."},
		"strength": map[string]any{"type": "number", "default": 0.5, "minimum": 0, "maximum": 1},
		"mode":     map[string]any{"type": "string", "enum": []any{"quality", "fast"}, "default": "quality"},
		"upscale":  map[string]any{"type": "boolean", "default": false},
	}},
	CreatedAt: fakeT0, UpdatedAt: fakeT0,
}

var fakeError = &api.JobError{Type: "execution_error", Message: "CUDA out of memory", NodeID: "12", NodeType: "KSampler",
	Traceback: []string{"Traceback (most recent call last):\n", "  File \"nodes.py\", line 1\n"}}

func (f *fakeAPI) service() *httpapitest.Service {
	job := api.Job{ID: "job-1", State: api.StateQueued, Workflow: "edit", Outputs: []api.Output{}, CreatedAt: fakeT0}
	failed := job
	failed.State, failed.Error, failed.Attempts, failed.Backend = api.StateFailed, fakeError, 1, "gpu0"
	ev := func(id, typ string, data any) api.Event {
		raw, _ := json.Marshal(data)
		return api.Event{ID: id, JobID: job.ID, Type: typ, Time: fakeT0, Data: raw}
	}
	return &httpapitest.Service{
		ListWorkflowsFunc: func(context.Context, string) ([]api.Workflow, error) { return []api.Workflow{fakeWorkflow}, nil },
		BackendsFunc:      func(context.Context) ([]api.Backend, error) { return []api.Backend{}, nil },
		UploadFunc: func(_ context.Context, _ string, r io.Reader, name, ctype string) (api.Upload, error) {
			data, err := io.ReadAll(r)
			f.mu.Lock()
			f.uploaded = data
			f.mu.Unlock()
			return api.Upload{ID: "up-123", Filename: name, ContentType: ctype, Size: int64(len(data)), URL: "/v1/artifacts/up-123"}, err
		},
		SubmitJobFunc: func(_ context.Context, _ string, req api.SubmitJobRequest, _ string) (api.Job, bool, error) {
			f.mu.Lock()
			f.params = req.Params
			f.mu.Unlock()
			return job, false, nil
		},
		GetJobFunc: func(context.Context, string, string) (api.Job, error) { return failed, nil },
		SubscribeJobFunc: func(context.Context, string, string, string) (httpapi.Stream, error) {
			return httpapitest.StreamOf(
				ev("1", api.EventQueued, api.EventQueuedData{Position: 2}),
				ev("2", api.EventStarted, api.EventDispatchedData{Backend: "gpu0", Attempt: 1}),
				ev("2.1", api.EventProgress, api.Progress{Node: "12", NodeType: "KSampler", Value: 3, Max: 20, Fraction: 0.4}),
				ev("3", api.EventFailed, failed)), nil
		},
	}
}

// start serves the UI and the fake API on one origin.
func (f *fakeAPI) start(tb testing.TB) string {
	tb.Helper()
	apiSrv, err := httpapi.New(f.service(), httpapi.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(ui.Prefix, ui.Handler())
	mux.Handle("/", apiSrv)
	srv := httptest.NewServer(mux)
	tb.Cleanup(func() {
		apiSrv.Drain()
		srv.Close()
	})
	return srv.URL
}

func (f *fakeAPI) got() ([]byte, map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.uploaded, f.params
}
