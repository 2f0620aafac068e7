package job

import (
	"fmt"
	"time"
)

// State is where a job is in its life cycle.
type State string

// The states. A job normally moves queued → dispatched → running → succeeded;
// retrying sits between a failed attempt and the next dispatch. Succeeded,
// failed and cancelled are terminal.
const (
	StateQueued     State = "queued"     // waiting in comfygate's own queue
	StateDispatched State = "dispatched" // handed to a backend, not yet executing
	StateRunning    State = "running"    // the backend reported execution start
	StateRetrying   State = "retrying"   // an attempt failed; waiting for the next dispatch
	StateSucceeded  State = "succeeded"
	StateFailed     State = "failed"
	StateCancelled  State = "cancelled"
)

// States lists every state in life-cycle order.
func States() []State {
	return []State{StateQueued, StateDispatched, StateRunning, StateRetrying,
		StateSucceeded, StateFailed, StateCancelled}
}

// transitions is the whole state machine: from → the states it may move to.
// Terminal states have no entry, so nothing leaves them.
var transitions = map[State][]State{
	StateQueued:     {StateDispatched, StateCancelled, StateFailed},
	StateDispatched: {StateRunning, StateQueued, StateRetrying, StateSucceeded, StateFailed, StateCancelled},
	StateRunning:    {StateSucceeded, StateFailed, StateCancelled, StateRetrying},
	StateRetrying:   {StateDispatched, StateCancelled, StateFailed},
}

// Valid reports whether s is one of the known states.
func (s State) Valid() bool {
	switch s {
	case StateQueued, StateDispatched, StateRunning, StateRetrying,
		StateSucceeded, StateFailed, StateCancelled:
		return true
	}
	return false
}

// Terminal reports whether no further change can happen to a job in s.
func (s State) Terminal() bool {
	return s == StateSucceeded || s == StateFailed || s == StateCancelled
}

// Dispatchable reports whether the scheduler may hand a job in s to a
// backend: it is waiting in comfygate's queue (queued or retrying).
func (s State) Dispatchable() bool { return s == StateQueued || s == StateRetrying }

// Active reports whether a job in s is bound to a backend (dispatched or
// running); crash recovery re-attaches these.
func (s State) Active() bool { return s == StateDispatched || s == StateRunning }

// CanTransition reports whether the state machine allows from → to.
// Staying in the same state is not a transition.
func CanTransition(from, to State) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// ParseState turns s into a State, or fails naming the bad value.
func ParseState(s string) (State, error) {
	st := State(s)
	if !st.Valid() {
		return "", fmt.Errorf("%w: unknown job state %q", ErrInvalid, s)
	}
	return st, nil
}

// TransitionError is an illegal move of the state machine. It matches
// ErrIllegalTransition with errors.Is.
type TransitionError struct {
	JobID    string
	From, To State
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("job %s: illegal transition %s → %s", e.JobID, e.From, e.To)
}

// Is makes errors.Is(err, ErrIllegalTransition) true.
func (e *TransitionError) Is(target error) bool { return target == ErrIllegalTransition }

// TransitionTo moves j to state to at time now, or returns a
// *TransitionError and leaves j unchanged.
//
// Besides State and UpdatedAt it keeps the timings and the attempt log, so
// callers set the inputs first:
//   - → dispatched: set j.Backend first. Attempts is incremented, DispatchedAt
//     is set, StartedAt and FinishedAt are cleared, and an Attempt for
//     j.Backend is opened in AttemptLog.
//   - dispatched → queued withdraws the dispatch (the backend never accepted
//     it): the open attempt is removed and Attempts decremented, as if the
//     dispatch never happened.
//   - → running: StartedAt is set.
//   - → retrying or a terminal state: the open attempt, if any, is closed with
//     j.Error's message (set it first) and an outcome: "failed" for retrying,
//     else the terminal state's name. Callers may refine Outcome afterwards
//     (for example "backend_lost").
//   - → a terminal state: FinishedAt is set.
func (j *Job) TransitionTo(to State, now time.Time) error {
	if !CanTransition(j.State, to) {
		return &TransitionError{JobID: j.ID, From: j.State, To: to}
	}
	from := j.State
	j.State = to
	j.UpdatedAt = now
	switch {
	case to == StateDispatched:
		j.Attempts++
		j.DispatchedAt = now
		j.StartedAt, j.FinishedAt = time.Time{}, time.Time{}
		j.AttemptLog = append(j.AttemptLog, Attempt{Backend: j.Backend, StartedAt: now})
	case from == StateDispatched && to == StateQueued:
		j.withdrawAttempt()
	case to == StateRunning:
		j.StartedAt = now
	}
	if to == StateRetrying || to.Terminal() {
		j.closeAttempt(to, now)
	}
	if to.Terminal() {
		j.FinishedAt = now
	}
	return nil
}

// openAttempt returns the attempt still in progress, or nil.
func (j *Job) openAttempt() *Attempt {
	if n := len(j.AttemptLog); n > 0 && j.AttemptLog[n-1].EndedAt.IsZero() {
		return &j.AttemptLog[n-1]
	}
	return nil
}

func (j *Job) withdrawAttempt() {
	if j.openAttempt() != nil {
		j.AttemptLog = j.AttemptLog[:len(j.AttemptLog)-1]
	}
	if j.Attempts > 0 {
		j.Attempts--
	}
	j.DispatchedAt = time.Time{}
}

func (j *Job) closeAttempt(outcome State, now time.Time) {
	a := j.openAttempt()
	if a == nil {
		return
	}
	a.EndedAt = now
	a.Outcome = string(outcome)
	if outcome == StateRetrying {
		a.Outcome = string(StateFailed)
	}
	if j.Error != nil {
		a.Error = j.Error.Message
	}
}
