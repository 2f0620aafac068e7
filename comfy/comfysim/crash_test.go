package comfysim_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/comfygate/comfygate/comfy/comfysim"
)

// A bug in a node (here a deliberate panic) ends its prompt with an
// execution_error and a failed history entry, as an unexpected Python
// exception does in ComfyUI; the server keeps serving.
func TestNodePanicIsAnExecutionError(t *testing.T) {
	t.Parallel()
	s := start(t, comfysim.Options{})
	comfysim.SetNodeHookForTest(s, func(class string) {
		if class == "ImageInvert" {
			var nodes []int
			_ = nodes[len(class)] // an index out of range, as the slot -1 bug was
		}
	})
	ws := dial(t, s, "panic")
	ws.mustNext()
	id := submit(t, s, workflow(t, "basic"), "panic")
	var errMsg map[string]any
	for _, f := range ws.untilDone(id) {
		if m := decode(t, f); m.Type == "execution_error" {
			errMsg = m.Data
		}
	}
	if errMsg == nil {
		t.Fatal("no execution_error")
	}
	diff(t, "node", []any{"2", "ImageInvert"}, []any{errMsg["node_id"], errMsg["node_type"]})
	diff(t, "exception_type", "RuntimeError", errMsg["exception_type"])
	diff(t, "executed", []any{"1"}, errMsg["executed"])
	diff(t, "current_outputs", []any{"1", "2", "3", "4"}, errMsg["current_outputs"])
	if msg, _ := errMsg["exception_message"].(string); !strings.Contains(msg, "index out of range") || !strings.HasSuffix(msg, "\n") {
		t.Errorf("exception_message %q", msg)
	}
	inputs, _ := errMsg["current_inputs"].(map[string]any)
	if _, ok := inputs["image"]; !ok {
		t.Errorf("current_inputs %v lack the gathered image", errMsg["current_inputs"])
	}
	tb, _ := errMsg["traceback"].([]any)
	if len(tb) == 0 || !strings.Contains(tb[len(tb)-1].(string), "crash_test.go") {
		t.Errorf("traceback does not end in the panicking function: %v", tb)
	}
	entry := history(t, s, id)
	diff(t, "status_str", "error", entry["status"].(map[string]any)["status_str"])

	comfysim.SetNodeHookForTest(s, nil)
	id = submit(t, s, workflow(t, "basic"), "panic")
	ws.untilDone(id)
	diff(t, "next prompt", "success", history(t, s, id)["status"].(map[string]any)["status_str"])
	diff(t, "failed/succeeded", [2]int64{1, 1}, [2]int64{s.Stats().PromptsFailed, s.Stats().PromptsSucceeded})
}

// crash_node kills the server when a node of the class starts: sockets drop
// without a close frame, the listener goes, the prompt never reaches
// history; the test binary (the host process) lives on.
func TestCrashNode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		opts  comfysim.Options
		setup func(t *testing.T, s *comfysim.Server)
	}{
		{"option", comfysim.Options{CrashNode: "ImageScale"}, func(*testing.T, *comfysim.Server) {}},
		{"method", comfysim.Options{}, func(_ *testing.T, s *comfysim.Server) { s.SetCrashNode("ImageScale") }},
		{"route", comfysim.Options{}, func(t *testing.T, s *comfysim.Server) {
			r := postJSON(t, s, "/sim/faults", map[string]any{"crash_node": "ImageScale"})
			if r.status != http.StatusOK || r.json(t)["crash_node"] != "ImageScale" {
				t.Fatalf("faults: %d %s", r.status, r.body)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := start(t, tt.opts)
			tt.setup(t, s)
			diff(t, "faults", "ImageScale", s.Faults().CrashNode)
			ws := dial(t, s, "crash-node")
			ws.mustNext()
			submit(t, s, workflow(t, "basic"), "crash-node")
			frames, err := ws.closed()
			if st := websocket.CloseStatus(err); st != -1 {
				t.Errorf("close status %d, want an abrupt close (-1)", st)
			}
			for _, f := range frames {
				if strings.Contains(string(f.data), `"node": "4"`) {
					t.Errorf("the node after the crashing one ran: %s", f.data)
				}
			}
			<-s.Crashed()
			waitFor(t, "the listener to be gone", func() bool {
				_, err := http.Get(s.URL() + "/queue")
				return err != nil
			})
			st := s.Stats()
			diff(t, "executed prompts", int64(0), st.PromptsExecuted)
		})
	}
}

// Turning crash_node off again, or naming a class the prompt does not use,
// leaves the server running.
func TestCrashNodeOff(t *testing.T) {
	t.Parallel()
	s := start(t, comfysim.Options{CrashNode: "ImageScale"})
	s.SetCrashNode("KSampler")
	id := submit(t, s, workflow(t, "basic"), "")
	diff(t, "status", "success", history(t, s, id)["status"].(map[string]any)["status_str"])
	if r := postJSON(t, s, "/sim/faults", map[string]any{"crash_node": ""}); r.status != http.StatusOK {
		t.Fatalf("faults: %d %s", r.status, r.body)
	}
	diff(t, "faults", "", s.Faults().CrashNode)
	select {
	case <-s.Crashed():
		t.Fatal("crashed")
	default:
	}
}
