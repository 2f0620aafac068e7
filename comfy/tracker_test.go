package comfy

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func decodeLines(tb testing.TB, name string) []Event {
	tb.Helper()
	var out []Event
	for _, line := range readLines(tb, name) {
		ev, err := DecodeMessage(line)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

func TestRunTrackerOnCaptures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file, promptID string
		want           Outcome
		wantOutputs    []string
		wantCached     int
	}{
		{"ws-02-submit-run.jsonl", "010cb779-a4ee-46c4-9c50-232a936d599b", OutcomeSuccess, []string{"4"}, 0},
		{"ws-03-submit-cached.jsonl", "5658b76e-f28b-4777-8748-e1f0b36c4df0", OutcomeSuccess, []string{"4"}, 4},
		{"ws-09-interrupt.jsonl", "c1d0c7a6-44c1-4606-a05b-5c155dc064df", OutcomeInterrupted, nil, 0},
		{"ws-09-interrupt.jsonl", "b74e65b4-4d90-4511-8562-20612c899581", OutcomeInterrupted, nil, -1},
		{"ws-09-interrupt.jsonl", "f65e7d30-3301-46d4-8ad5-7e4bdd8cd3e9", OutcomeSuccess, []string{"3"}, -1},
		{"ws-14-execution-error.jsonl", "7c347d43-727d-449b-a0d6-6ca41beacda6", OutcomeError, nil, 0},
		{"ws-14-execution-error.jsonl", "2b9e9571-949b-47c0-9168-d2d7d52deaee", OutcomeError, nil, -1},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+tt.promptID[:8], func(t *testing.T) {
			tr := NewRunTracker(tt.promptID)
			doneAt := -1
			events := decodeLines(t, tt.file)
			for i, ev := range events {
				if tr.Observe(ev) && doneAt < 0 {
					doneAt = i
				}
			}
			if !tr.Done() || tr.Outcome() != tt.want || !tr.Started() {
				t.Fatalf("done %v outcome %q started %v, want done %q", tr.Done(), tr.Outcome(), tr.Started(), tt.want)
			}
			if !IsTerminal(events[doneAt], tt.promptID) {
				t.Errorf("done at event %d (%s), which is not the terminal executing", doneAt, events[doneAt].EventType())
			}
			var outs []string
			for id := range tr.Outputs() {
				outs = append(outs, id)
			}
			if diff := cmp.Diff(tt.wantOutputs, outs); diff != "" {
				t.Errorf("outputs (-want +got):\n%s", diff)
			}
			if tt.wantCached >= 0 && len(tr.Cached()) != tt.wantCached {
				t.Errorf("cached %v, want %d nodes", tr.Cached(), tt.wantCached)
			}
			switch tt.want {
			case OutcomeError:
				if tr.Err() == nil || tr.Err().ExceptionType != "PIL.UnidentifiedImageError" || string(tr.Err().CurrentInputs) == "" {
					t.Errorf("error %+v", tr.Err())
				}
			case OutcomeInterrupted:
				if tr.Interrupted() == nil || tr.Interrupted().NodeType != "ImageBlur" {
					t.Errorf("interrupted %+v", tr.Interrupted())
				}
			}
		})
	}
}

// TestRunTrackerBlockedIsNotTerminal: an ExecutionBlocked error is followed
// by more work; only the null executing ends the run.
func TestRunTrackerBlockedIsNotTerminal(t *testing.T) {
	t.Parallel()
	tr := NewRunTracker("p1")
	events := decodeLines(t, "synthetic/ws-blocked-and-resync.jsonl") // resync, blocked error, progress, ...
	events = append(events,
		Executed{Node: "9", PromptID: "p1", Output: json.RawMessage(`{"images": []}`)},
		ExecutionSuccess{PromptID: "p1"},
		Executing{PromptID: "other"}, // another prompt's end
	)
	for _, ev := range events {
		if tr.Observe(ev) {
			t.Fatalf("done after %s", ev.EventType())
		}
	}
	if len(tr.Blocked()) != 1 || tr.Err() != nil || tr.Outcome() != OutcomeSuccess || tr.CurrentNode() != "" {
		t.Fatalf("blocked %d err %v outcome %q current %q", len(tr.Blocked()), tr.Err(), tr.Outcome(), tr.CurrentNode())
	}
	if !tr.Observe(Executing{PromptID: "p1"}) || !tr.Observe(ExecutionStart{PromptID: "p1"}) {
		t.Fatal("not done after the terminal executing")
	}
}

func TestIsTerminal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ev   Event
		want bool
	}{
		{"final executing", Executing{PromptID: "p"}, true},
		{"other prompt", Executing{PromptID: "q"}, false},
		{"node starts", Executing{Node: ptr("3"), PromptID: "p"}, false},
		{"reconnect resync", Executing{Node: ptr("3")}, false},
		{"success is not terminal", ExecutionSuccess{PromptID: "p"}, false},
		{"error is not terminal", ExecutionError{PromptID: "p"}, false},
		{"unknown", UnknownEvent{Type: "executing"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsTerminal(tt.ev, "p"); got != tt.want {
				t.Errorf("IsTerminal = %v, want %v", got, tt.want)
			}
		})
	}
	if IsTerminal(Executing{}, "") {
		t.Error("empty prompt id matched the reconnect form")
	}
}
