package flaskapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/comfygate/comfygate/internal/gateway"
	"github.com/comfygate/comfygate/internal/job"
)

const submittedID = "0f6f7a8e-1111-4222-8333-944455556666"

// outputFolder is where a backend wrote job-done's files.
var outputFolder = job.OutputFolder("5e1e0ab1c2d3e4f5a6b7c8d9e0f1a2b3")

// fixtureJobs are alice's jobs in every state, and one of bob's.
func fixtureJobs() []*job.Job {
	graph := json.RawMessage(`{"9": {"class_type": "SaveImage", "inputs": {"images": ["8", 0], "filename_prefix": "ComfyUI"}}}`)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	done := func(id string, outs []job.Output) *job.Job {
		return &job.Job{ID: id, Owner: "alice", Seq: 4, State: job.StateSucceeded, Graph: graph,
			OutputNodes: []string{"9", "10", "12"}, Outputs: outs, CreatedAt: t0,
			DispatchedAt: at(500 * time.Millisecond), StartedAt: at(time.Second), FinishedAt: at(11500 * time.Millisecond)}
	}
	return []*job.Job{
		{ID: "job-queued", Owner: "alice", Seq: 1, State: job.StateQueued, CreatedAt: t0},
		{ID: "job-retrying", Owner: "alice", Seq: 2, State: job.StateRetrying, CreatedAt: t0},
		{ID: "job-running", Owner: "alice", Seq: 3, State: job.StateRunning, CreatedAt: t0, StartedAt: at(time.Second),
			Progress: job.Progress{Node: "3", NodeType: "KSampler", Value: 5, Max: 20, Fraction: 0.4, NodesDone: 3, NodesTotal: 7}},
		// The backend wrote job-done's files in an output folder of
		// comfygate's (job.OutputFolder); callers see the folders the
		// graph asked for.
		done("job-done", []job.Output{
			{ArtifactID: imageID1, NodeID: "9", Kind: "images", Filename: "ComfyUI_00001_.png", Subfolder: outputFolder, Type: "output", ContentType: "image/png", Size: 10},
			{ArtifactID: imageID2, NodeID: "9", Kind: "images", Filename: "ComfyUI_00002_.png", Subfolder: outputFolder + `\portraits`, Type: "output"},
			{ArtifactID: tempID, NodeID: "10", Kind: "images", Filename: "ComfyUI_temp_abcde_00001_.png", Type: "temp"},
			{NodeID: "12", Kind: "text", Text: "HELLO, WORLD"},
		}),
		done("job-text", []job.Output{{NodeID: "12", Kind: "text", Text: "only text"}}),
		{ID: "job-failed", Owner: "alice", Seq: 6, Number: 7, ClientID: "my-api-1", State: job.StateFailed, Graph: graph,
			OutputNodes: []string{"9"}, CreatedAt: t0, StartedAt: at(time.Second), FinishedAt: at(2 * time.Second),
			ExtraData: json.RawMessage(`{"client_id": "my-api-1", "api_key_comfy_org": "secret"}`),
			Error: &job.Error{Type: "PIL.UnidentifiedImageError", Message: "cannot identify image file 'x.png'",
				NodeID: "1", NodeType: "LoadImage", Traceback: []string{"  File \"nodes.py\", line 1647, in load_image\n"}}},
		{ID: "job-cancelled", Owner: "alice", Seq: 7, State: job.StateCancelled, Graph: graph, CreatedAt: t0,
			StartedAt: at(time.Second), FinishedAt: at(3 * time.Second), Progress: job.Progress{Node: "3", NodeType: "KSampler"}},
		{ID: "job-bob", Owner: "bob", Seq: 8, State: job.StateSucceeded, Graph: graph, CreatedAt: t0, FinishedAt: at(time.Second),
			Outputs: []job.Output{{ArtifactID: imageID1, NodeID: "9", Kind: "images", Filename: "bob.png", Type: "output"}}},
	}
}

// newFakes returns a service with the test workflows and a store with the
// fixture jobs.
func newFakes(tb testing.TB) (*fakeService, *fakeStore) {
	tb.Helper()
	wfs := storedWorkflows(tb)
	wfs["no-text"] = gateway.Workflow{Workflow: &job.Workflow{Name: "no-text", Version: "v-no-text", Graph: json.RawMessage(
		`{"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0}},
		  "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "x"}}}`)}}
	store := &fakeStore{jobs: fixtureJobs(), positions: map[string]int{"job-queued": 2}}
	svc := &fakeService{
		GetWorkflowFunc: func(_ context.Context, _, name string) (gateway.Workflow, error) {
			if wf, ok := wfs[name]; ok {
				return wf, nil
			}
			return gateway.Workflow{}, workflowNotFound(name)
		},
		ListWorkflowsFunc: func(context.Context, string) ([]gateway.Workflow, error) {
			return []gateway.Workflow{wfs["flux-text"], wfs["no-text"], wfs["sdxl-pair"], wfs["txt2img"]}, nil
		},
		SubmitFunc: func(context.Context, job.Submission) (gateway.Submitted, error) {
			return gateway.Submitted{JobStatus: gateway.JobStatus{Job: &job.Job{ID: submittedID, State: job.StateQueued}}}, nil
		},
		ReadyFunc: func(context.Context) error { return nil },
		BackendsFunc: func(context.Context) ([]gateway.Backend, error) {
			return []gateway.Backend{{ID: "sim-1", URL: "http://10.0.0.5:8188", State: "healthy"},
				{ID: "gpu-2", URL: "http://10.0.0.6:8188", State: "down"}}, nil
		},
		store: store,
	}
	return svc, store
}

// headerOwner authenticates by the X-Owner header: a stand-in for API keys.
func headerOwner(r *http.Request) (string, error) {
	if o := r.Header.Get("X-Owner"); o != "" {
		return o, nil
	}
	return "", errors.New("missing API key: send Authorization: Bearer <key> or X-API-Key")
}
