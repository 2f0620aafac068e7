package comfy

import "encoding/json"

// IsTerminal reports whether ev ends the run of promptID: an "executing"
// message with node null and that prompt id. It is the last event of every run
// (success, error or interrupt) and comes after the history entry is written.
// execution_success/error/interrupted are not terminal on their own: an
// ExecutionBlocked error is followed by more work, and history is written
// only after them.
func IsTerminal(ev Event, promptID string) bool {
	e, ok := ev.(Executing)
	return ok && e.Node == nil && e.PromptID != "" && e.PromptID == promptID
}

// Outcome is how a run ended, as seen on the WebSocket.
type Outcome string

// Outcomes. OutcomeUnknown after Done means the terminal event arrived
// without one of the execution_* events (for example after a reconnect);
// consult the history entry.
const (
	OutcomeUnknown     Outcome = ""
	OutcomeSuccess     Outcome = "success"
	OutcomeError       Outcome = "error"
	OutcomeInterrupted Outcome = "interrupted"
)

// RunTracker follows one prompt's events to completion. Feed it every event
// with Observe. It is not safe for concurrent use.
//
// It covers the WebSocket side only; a prompt deleted from the queue, one
// submitted without a client id, or one whose events were lost in a reconnect
// never completes here. Pair it with a deadline and a /queue + /history check.
type RunTracker struct {
	promptID    string
	started     bool
	done        bool
	outcome     Outcome
	cached      []string
	current     string
	outputs     map[string]json.RawMessage
	err         *ExecutionError
	blocked     []ExecutionError
	interrupted *ExecutionInterrupted
}

// NewRunTracker tracks promptID.
func NewRunTracker(promptID string) *RunTracker {
	return &RunTracker{promptID: promptID, outputs: map[string]json.RawMessage{}}
}

// PromptID is the tracked prompt.
func (t *RunTracker) PromptID() string { return t.promptID }

// Observe records ev if it belongs to the tracked prompt and reports whether
// the run is now done. Binary frames and the reconnect "executing" carry no
// prompt id and are ignored.
func (t *RunTracker) Observe(ev Event) bool {
	if t.done {
		return true
	}
	switch e := ev.(type) {
	case ExecutionStart:
		if e.PromptID == t.promptID {
			t.started = true
		}
	case ExecutionCached:
		if e.PromptID == t.promptID {
			t.started = true
			t.cached = append(t.cached, e.Nodes...)
		}
	case Executing:
		t.observeExecuting(e)
	case Executed:
		if e.PromptID == t.promptID {
			t.outputs[e.Node] = e.Output
		}
	case ExecutionSuccess:
		if e.PromptID == t.promptID {
			t.outcome = OutcomeSuccess
		}
	case ExecutionError:
		t.observeError(e)
	case ExecutionInterrupted:
		if e.PromptID == t.promptID {
			t.outcome, t.interrupted = OutcomeInterrupted, &e
		}
	}
	return t.done
}

func (t *RunTracker) observeExecuting(e Executing) {
	if e.PromptID != t.promptID {
		return
	}
	if e.Node == nil {
		t.done, t.current = true, ""
		return
	}
	t.started, t.current = true, *e.Node
}

func (t *RunTracker) observeError(e ExecutionError) {
	if e.PromptID != t.promptID {
		return
	}
	if e.Blocked() {
		t.blocked = append(t.blocked, e)
		return
	}
	t.outcome, t.err = OutcomeError, &e
}

// Done reports whether the terminal event has been seen.
func (t *RunTracker) Done() bool { return t.done }

// Started reports whether the prompt has begun running.
func (t *RunTracker) Started() bool { return t.started }

// Outcome is the recorded outcome (possibly set before Done).
func (t *RunTracker) Outcome() Outcome { return t.outcome }

// CurrentNode is the node most recently reported as executing, or "".
func (t *RunTracker) CurrentNode() string { return t.current }

// Cached lists the nodes served from cache.
func (t *RunTracker) Cached() []string { return t.cached }

// Outputs maps node id to the UI output of every "executed" message seen.
func (t *RunTracker) Outputs() map[string]json.RawMessage { return t.outputs }

// Err is the execution error when Outcome is OutcomeError.
func (t *RunTracker) Err() *ExecutionError { return t.err }

// Blocked lists the non-terminal ExecutionBlocked errors seen.
func (t *RunTracker) Blocked() []ExecutionError { return t.blocked }

// Interrupted is the interrupt event when Outcome is OutcomeInterrupted.
func (t *RunTracker) Interrupted() *ExecutionInterrupted { return t.interrupted }
