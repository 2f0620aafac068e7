package job_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/comfygate/comfygate/internal/job"
)

func TestCanTransitionTable(t *testing.T) {
	legal := map[job.State][]job.State{
		job.StateQueued:     {job.StateDispatched, job.StateCancelled, job.StateFailed},
		job.StateDispatched: {job.StateRunning, job.StateQueued, job.StateRetrying, job.StateSucceeded, job.StateFailed, job.StateCancelled},
		job.StateRunning:    {job.StateSucceeded, job.StateFailed, job.StateCancelled, job.StateRetrying},
		job.StateRetrying:   {job.StateDispatched, job.StateCancelled, job.StateFailed},
	}
	for _, from := range job.States() {
		for _, to := range job.States() {
			want := false
			for _, s := range legal[from] {
				want = want || s == to
			}
			if got := job.CanTransition(from, to); got != want {
				t.Errorf("CanTransition(%s, %s) = %v, want %v", from, to, got, want)
			}
		}
	}
}

func TestStatePredicates(t *testing.T) {
	tests := []struct {
		state                                 job.State
		valid, terminal, dispatchable, active bool
	}{
		{job.StateQueued, true, false, true, false},
		{job.StateDispatched, true, false, false, true},
		{job.StateRunning, true, false, false, true},
		{job.StateRetrying, true, false, true, false},
		{job.StateSucceeded, true, true, false, false},
		{job.StateFailed, true, true, false, false},
		{job.StateCancelled, true, true, false, false},
		{"bogus", false, false, false, false},
		{"", false, false, false, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.state), func(t *testing.T) {
			got := [4]bool{tt.state.Valid(), tt.state.Terminal(), tt.state.Dispatchable(), tt.state.Active()}
			want := [4]bool{tt.valid, tt.terminal, tt.dispatchable, tt.active}
			if got != want {
				t.Errorf("valid/terminal/dispatchable/active = %v, want %v", got, want)
			}
		})
	}
}

func TestParseState(t *testing.T) {
	for _, s := range job.States() {
		got, err := job.ParseState(string(s))
		if err != nil || got != s {
			t.Errorf("ParseState(%q) = %q, %v", s, got, err)
		}
	}
	if _, err := job.ParseState("done"); !errors.Is(err, job.ErrInvalid) {
		t.Errorf("ParseState(done) error = %v, want ErrInvalid", err)
	}
}

func TestTransitionToIllegal(t *testing.T) {
	j := &job.Job{ID: "j1", State: job.StateSucceeded}
	before := *j
	err := j.TransitionTo(job.StateRunning, time.Unix(100, 0))
	var te *job.TransitionError
	if !errors.As(err, &te) || !errors.Is(err, job.ErrIllegalTransition) {
		t.Fatalf("err = %v, want *TransitionError matching ErrIllegalTransition", err)
	}
	if want := (job.TransitionError{JobID: "j1", From: job.StateSucceeded, To: job.StateRunning}); *te != want {
		t.Errorf("TransitionError = %+v, want %+v", *te, want)
	}
	if diff := cmp.Diff(before, *j); diff != "" {
		t.Errorf("job changed by an illegal transition (-before +after):\n%s", diff)
	}
}

// at returns the time n seconds after a fixed epoch.
func at(n int) time.Time { return time.Date(2025, 1, 1, 0, 0, n, 0, time.UTC) }

func TestTransitionToLifecycles(t *testing.T) {
	type step struct {
		to      job.State
		backend string     // set before the step when non-empty
		err     *job.Error // set before the step when non-nil
	}
	tests := []struct {
		name  string
		steps []step
		want  job.Job
	}{{
		name:  "success",
		steps: []step{{to: job.StateDispatched, backend: "a"}, {to: job.StateRunning}, {to: job.StateSucceeded}},
		want: job.Job{State: job.StateSucceeded, Backend: "a", Attempts: 1,
			DispatchedAt: at(1), StartedAt: at(2), FinishedAt: at(3), UpdatedAt: at(3),
			AttemptLog: []job.Attempt{{Backend: "a", StartedAt: at(1), EndedAt: at(3), Outcome: "succeeded"}}},
	}, {
		name: "retry then fail",
		steps: []step{
			{to: job.StateDispatched, backend: "a"}, {to: job.StateRunning},
			{to: job.StateRetrying, err: &job.Error{Type: "backend_lost", Message: "socket closed"}},
			{to: job.StateDispatched, backend: "b"},
			{to: job.StateFailed, err: &job.Error{Type: "execution_error", Message: "boom"}},
		},
		want: job.Job{State: job.StateFailed, Backend: "b", Attempts: 2,
			Error:        &job.Error{Type: "execution_error", Message: "boom"},
			DispatchedAt: at(4), FinishedAt: at(5), UpdatedAt: at(5),
			AttemptLog: []job.Attempt{
				{Backend: "a", StartedAt: at(1), EndedAt: at(3), Outcome: "failed", Error: "socket closed"},
				{Backend: "b", StartedAt: at(4), EndedAt: at(5), Outcome: "failed", Error: "boom"},
			}},
	}, {
		name:  "withdrawn dispatch",
		steps: []step{{to: job.StateDispatched, backend: "a"}, {to: job.StateQueued}},
		want:  job.Job{State: job.StateQueued, Backend: "a", UpdatedAt: at(2), AttemptLog: []job.Attempt{}},
	}, {
		name:  "cancel while queued",
		steps: []step{{to: job.StateCancelled}},
		want:  job.Job{State: job.StateCancelled, FinishedAt: at(1), UpdatedAt: at(1)},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := &job.Job{State: job.StateQueued}
			for i, s := range tt.steps {
				if s.backend != "" {
					j.Backend = s.backend
				}
				if s.err != nil {
					j.Error = s.err
				}
				if err := j.TransitionTo(s.to, at(i+1)); err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
			}
			if diff := cmp.Diff(tt.want, *j); diff != "" {
				t.Errorf("job (-want +got):\n%s", diff)
			}
		})
	}
}
