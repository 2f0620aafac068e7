package api_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/comfygate/comfygate/api"
)

var update = flag.Bool("update", false, "rewrite testdata/wire.golden.json")

// TestWireShapes pins the JSON of the public types: a renamed tag or a lost
// omitempty breaks every client, so it must show up as a diff here.
func TestWireShapes(t *testing.T) {
	at := time.Date(2025, 1, 2, 3, 4, 5, 600, time.UTC)
	pos := 2
	shapes := map[string]any{
		"job": api.Job{ID: "j1", State: api.StateFailed, Workflow: "txt2img", WorkflowVersion: "3f2a", Params: json.RawMessage(`{"seed":18446744073709551615}`),
			Priority: 5, QueuePosition: &pos, Progress: &api.Progress{Node: "3", NodeType: "KSampler", Value: 10, Max: 20, Fraction: 0.5, NodesDone: 3, NodesTotal: 7},
			Outputs: []api.Output{{URL: "/v1/artifacts/a", ArtifactID: "a", ContentType: "image/png", Size: 9, NodeID: "9", Kind: "images", Filename: "o.png"}},
			Error: &api.JobError{Type: "execution_error", Message: "boom", NodeID: "3", NodeType: "KSampler", Traceback: []string{"line"},
				Attempts: []api.AttemptError{{Backend: "gpu0", Message: "socket lost"}}},
			Attempts: 2, Backend: "gpu1", CreatedAt: at, DispatchedAt: &at, StartedAt: &at, FinishedAt: &at, CancelRequested: true},
		"minimal job": api.Job{ID: "j2", State: api.StateQueued, Outputs: []api.Output{}, CreatedAt: at},
		"submit": api.SubmitJobRequest{Workflow: "txt2img", Params: map[string]any{"steps": 20}, Overrides: map[string]api.NodeOverride{"3": {Inputs: map[string]any{"cfg": 7}}}, Priority: 1,
			Webhook: &api.WebhookSpec{URL: "https://h/x", Events: []string{api.WebhookStarted, api.WebhookSucceeded}},
			Outputs: &api.OutputOptions{Format: "webp", Quality: 80, Inline: true}},
		"deliveries": api.DeliveryList{Deliveries: []api.Delivery{{ID: "msg_1", Type: api.WebhookSucceeded, URL: "https://h/x", State: "delivered",
			CreatedAt: at, EndedAt: &at, Attempts: []api.DeliveryAttempt{{N: 1, At: at, DurationMS: 1.5, Error: "no answer within 10s", NextAttemptAt: &at},
				{N: 2, At: at, DurationMS: 2, StatusCode: 204}}}}},
		"webhook message": api.WebhookMessage{Type: api.WebhookSucceeded, Timestamp: at, Data: api.Job{ID: "j1", State: api.StateSucceeded,
			Outputs: []api.Output{{ArtifactID: "a", NodeID: "9", Kind: "images", Data: []byte("png")}}, CreatedAt: at}},
		"event": api.Event{ID: "3.1", JobID: "j1", Type: api.EventProgress, Time: at, Data: json.RawMessage(`{"value":1}`)},
		"error": api.ErrorResponse{Error: api.ErrorBody{Code: api.CodeInvalidRequest, Message: "must be from -100 to 100", Field: "priority", RequestID: "r1"}},
		"workflow": api.Workflow{Name: "txt2img", Version: "3f2a", Shared: true, Graph: json.RawMessage(`{}`), Params: []api.Param{{Name: "steps", Target: "3.inputs.steps", Type: "integer", Default: 20, Minimum: 1, Maximum: 150}},
			Schema: map[string]any{"type": "object"}, CreatedAt: at, UpdatedAt: at},
		"upload":  api.Upload{ID: "sha", Filename: "a.png", ContentType: "image/png", Size: 3, URL: "/v1/artifacts/sha"},
		"backend": api.Backend{ID: "gpu0", URL: "http://h:8188", State: "healthy", Running: []string{"j1"}, Prefetch: []string{}, Done: 4, LatencyMS: 1.5, NodeCount: 600},
	}
	got, err := json.MarshalIndent(shapes, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "wire.golden.json")
	if *update {
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(bytes.TrimSpace(want)), string(got)); diff != "" {
		t.Errorf("wire shapes changed (-want +got; run with -update if intended):\n%s", diff)
	}
}

func TestTerminal(t *testing.T) {
	for _, s := range api.StateQueued.Enum() {
		st := s.(api.JobState)
		want := st == api.StateSucceeded || st == api.StateFailed || st == api.StateCancelled
		if st.Terminal() != want || api.TerminalEvent(string(st)) != want {
			t.Errorf("%s: Terminal %v, TerminalEvent %v, want %v", st, st.Terminal(), api.TerminalEvent(string(st)), want)
		}
	}
	if api.TerminalEvent(api.EventProgress) {
		t.Error("progress is not terminal")
	}
}
