package fleet

import (
	"encoding/json"
	"sync"
	"testing"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/comfy/comfysim"
	"github.com/comfygate/comfygate/internal/job"
)

// recTap records what the fleet taps.
type recTap struct {
	mu   sync.Mutex // guards msgs
	msgs []tapped
}

type tapped struct {
	jobID string
	ev    comfy.Event
}

func (t *recTap) Message(jobID string, ev comfy.Event) {
	t.mu.Lock()
	t.msgs = append(t.msgs, tapped{jobID, ev})
	t.mu.Unlock()
}

func (t *recTap) types(jobID string) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for _, m := range t.msgs {
		if m.jobID == jobID {
			out = append(out, m.ev.EventType())
		}
	}
	return out
}

func (t *recTap) ended(jobID string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, m := range t.msgs {
		if e, ok := m.ev.(comfy.Executing); ok && m.jobID == jobID && e.Done() {
			return true
		}
	}
	return false
}

// TestTapAndSavedHistory: every message of a run reaches the tap under
// its job id, the final "executing" before the job's terminal event, and
// the job keeps the run's history entry, whether the socket told all of
// it or the entry was read from /history.
func TestTapAndSavedHistory(t *testing.T) {
	tests := []struct {
		name    string
		verify  bool   // read /history even when the socket told all
		fail    string // node class the simulator fails
		state   job.State
		outcome string
	}{
		{"socket told all", false, "", job.StateSucceeded, comfy.EventExecutionSuccess},
		{"read from history", true, "", job.StateSucceeded, comfy.EventExecutionSuccess},
		{"failed run", false, "KSampler", job.StateFailed, comfy.EventExecutionError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startSim(t, comfysim.Options{FailNode: tt.fail})
			tap := &recTap{}
			cfg := testConfig(openStore(t, t.TempDir()), newRecHub(), newMemArtifacts(), backendOf("gpu", s, 2))
			cfg.Tap, cfg.VerifyHistory = tap, tt.verify
			e := startFleet(t, cfg)
			id := e.submit(t, imageGraph(simCheckpoint, 1, 2))
			j := e.hub.waitTerminal(t, e.store, id)
			if j.State != tt.state {
				t.Fatalf("state %s, error %v", j.State, j.Error)
			}
			if !tap.ended(id) {
				t.Errorf("the terminal event came before the tapped end of the run; tapped %v", tap.types(id))
			}
			types := tap.types(id)
			if len(types) < 4 || types[0] != comfy.EventExecutionStart {
				t.Errorf("tapped %v, want the run from execution_start", types)
			}
			var h comfy.HistoryEntry
			if err := json.Unmarshal(j.ComfyHistory, &h); err != nil {
				t.Fatalf("ComfyHistory %s: %v", j.ComfyHistory, err)
			}
			if h.Status.Outcome() != tt.outcome || len(h.Status.Messages) < 2 || h.Status.Messages[0].Event != comfy.EventExecutionStart {
				t.Errorf("saved status %+v", h.Status)
			}
			if tt.state == job.StateSucceeded && (len(h.Outputs["9"]) == 0 || h.Meta["9"].NodeID != "9") {
				t.Errorf("saved outputs %s, meta %+v", h.Outputs, h.Meta)
			}
		})
	}
}
