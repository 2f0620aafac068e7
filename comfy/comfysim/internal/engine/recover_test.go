package engine

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/comfy/comfyjson"
	"github.com/comfygate/comfygate/workflow"
	"github.com/comfygate/comfygate/workflow/corenodes"
)

// fakeEmitter hands every event to EventFunc.
type fakeEmitter struct {
	EventFunc func(ev comfy.Event)
}

func (f *fakeEmitter) Event(ev comfy.Event, _ *string)      { f.EventFunc(ev) }
func (f *fakeEmitter) Binary([]byte, *string)               {}
func (f *fakeEmitter) SupportsPreviewMetadata(*string) bool { return false }

// quietKnobs are knobs with every fault off.
type quietKnobs struct{}

func (quietKnobs) StepDelay() time.Duration             { return 0 }
func (quietKnobs) NodeDelay(string) time.Duration       { return 0 }
func (quietKnobs) FailClass() string                    { return "" }
func (quietKnobs) CrashClass() string                   { return "" }
func (quietKnobs) PreviewMethod() string                { return "none" }
func (quietKnobs) PreviewSize() int                     { return 512 }
func (quietKnobs) Models(string) []string               { return nil }
func (quietKnobs) Checkpoint(ctx context.Context) error { return ctx.Err() }
func (quietKnobs) Changed() <-chan struct{}             { return nil }

func newTestExecutor(t *testing.T, emit func(comfy.Event)) *Executor {
	t.Helper()
	cat, err := corenodes.Catalog(corenodes.Models{})
	if err != nil {
		t.Fatal(err)
	}
	return New(Config{
		Catalog: cat, Dir: func(string) string { return t.TempDir() },
		Knobs: quietKnobs{}, Emitter: &fakeEmitter{EventFunc: emit},
	})
}

func testJob(t *testing.T, graph string) *Job {
	t.Helper()
	g, err := workflow.ParseGraph([]byte(graph), workflow.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	extra := comfyjson.Object{{Key: "client_id", Value: "c"}}
	return &Job{PromptID: "p", Graph: g, ExtraData: extra, Outputs: []string{"2"}}
}

const tinyGraph = `{"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0}},
 "2": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}}}`

// A panic outside any node's run (here: while reporting which nodes are
// cached) still ends the prompt as failed, with an execution_error in its
// history messages, instead of taking the worker down.
func TestExecuteRecoversOutsideNodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		panicOn func(comfy.Event) bool
		// sent: whether the execution_error itself gets through
		sent bool
	}{
		{"while reporting", func(ev comfy.Event) bool { _, ok := ev.(comfy.ExecutionCached); return ok }, true},
		{"while reporting the panic too", func(ev comfy.Event) bool { _, ok := ev.(comfy.ExecutionStart); return !ok }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var sent []string
			e := newTestExecutor(t, func(ev comfy.Event) {
				if tt.panicOn(ev) {
					panic("emitter bug")
				}
				sent = append(sent, ev.EventType())
			})
			res := e.Execute(context.Background(), testJob(t, tinyGraph))
			if res.Success || res.Interrupted {
				t.Fatalf("result %+v, want a failure", res)
			}
			var types []string
			var last comfy.StatusMessage
			for _, m := range res.Messages {
				types = append(types, m.Event)
				last = m
			}
			if last.Event != "execution_error" || !strings.Contains(string(last.Data), `"exception_type":"RuntimeError"`) ||
				!strings.Contains(string(last.Data), "emitter bug") {
				t.Errorf("history messages %v end with %s", types, last.Data)
			}
			if got := slices.Contains(sent, "execution_error"); got != tt.sent {
				t.Errorf("sent %v", sent)
			}
			// The executor is usable afterwards.
			e.cfg.Emitter = &fakeEmitter{EventFunc: func(comfy.Event) {}}
			if res := e.Execute(context.Background(), testJob(t, tinyGraph)); !res.Success {
				t.Errorf("next run failed: %+v", res.Messages)
			}
		})
	}
}
