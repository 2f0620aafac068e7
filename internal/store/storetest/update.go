package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/comfygate/comfygate/internal/job"
)

var updateTests = map[string]func(*testing.T, NewStore){
	"Applies":               updateApplies,
	"FnErrorUnchanged":      updateFnError,
	"NotFound":              updateNotFound,
	"ProtectedFields":       updateProtectedFields,
	"IllegalTransition":     updateIllegalTransition,
	"InvalidJSON":           updateInvalidJSON,
	"ConcurrentClaims":      updateConcurrentClaims,
	"ConcurrentIncrements":  updateConcurrentIncrements,
	"PanicInFnDoesNotWedge": updatePanic,
}

// claim is the scheduler's compare-and-set: queued → dispatched, or ErrConflict.
func claim(backend string) func(*job.Job) error {
	return func(j *job.Job) error {
		if j.State != job.StateQueued {
			return job.ErrConflict
		}
		j.Backend = backend
		return j.TransitionTo(job.StateDispatched, time.Now())
	}
}

func updateApplies(t *testing.T, ns NewStore) {
	s := ns(t)
	j := create(t, s, newJob())
	got, err := s.UpdateJob(t.Context(), j.ID, func(j *job.Job) error {
		j.Backend = "gpu-1"
		j.Progress = job.Progress{Node: "3", Value: 1, Max: 2, Fraction: 0.5}
		j.Outputs = []job.Output{{NodeID: "9", Kind: "images", Filename: "x.png"}}
		j.Graph = json.RawMessage(`{"2":{}}`)
		return j.TransitionTo(job.StateDispatched, at(10))
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.State != job.StateDispatched || got.Backend != "gpu-1" || got.Attempts != 1 ||
		!got.DispatchedAt.Equal(at(10)) || string(got.Graph) != `{"2":{}}` || got.Progress.Fraction != 0.5 {
		t.Errorf("update not applied: %+v", got)
	}
	if got.UpdatedAt.Before(j.UpdatedAt) {
		t.Errorf("UpdatedAt went back: %v < %v", got.UpdatedAt, j.UpdatedAt)
	}
	diff(t, "GetJob after UpdateJob", got, get(t, s, j.ID))
}

func updateFnError(t *testing.T, ns NewStore) {
	s := ns(t)
	j := create(t, s, newJob())
	sentinel := errors.New("caller says no")
	_, err := s.UpdateJob(t.Context(), j.ID, func(j *job.Job) error {
		j.Backend = "should not stick"
		return sentinel
	})
	if err != sentinel { //nolint:errorlint // the contract is "unchanged", not "wrapped"
		t.Errorf("error = %v, want the fn's error itself", err)
	}
	_, err = s.UpdateJob(t.Context(), j.ID, func(*job.Job) error { return job.ErrConflict })
	if err != job.ErrConflict { //nolint:errorlint // see above
		t.Errorf("error = %v, want job.ErrConflict itself", err)
	}
	diff(t, "job after aborted updates", j, get(t, s, j.ID))
}

func updateNotFound(t *testing.T, ns NewStore) {
	called := false
	_, err := ns(t).UpdateJob(t.Context(), uuid.NewString(), func(*job.Job) error { called = true; return nil })
	wantErr(t, "UpdateJob(unknown)", err, job.ErrNotFound)
	if called {
		t.Error("fn was called for an unknown job")
	}
}

func updateProtectedFields(t *testing.T, ns NewStore) {
	s := ns(t)
	j := create(t, s, newJob(idem("o", "k", "h")))
	got, err := s.UpdateJob(t.Context(), j.ID, func(j *job.Job) error {
		j.ID, j.Seq, j.EventSeq, j.CreatedAt = "other", 999, 42, at(-100)
		j.Owner, j.IdempotencyKey, j.RequestHash = "thief", "k2", "h2"
		j.Priority = 7
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := *j
	want.Priority, want.UpdatedAt = 7, got.UpdatedAt
	diff(t, "job after changing protected fields", &want, got)
	diff(t, "GetJob", got, get(t, s, j.ID))
}

func updateIllegalTransition(t *testing.T, ns NewStore) {
	s := ns(t)
	j := create(t, s, newJob())
	_, err := s.UpdateJob(t.Context(), j.ID, func(j *job.Job) error {
		j.State = job.StateSucceeded // bypassing TransitionTo
		return nil
	})
	var te *job.TransitionError
	if !errors.As(err, &te) || te.From != job.StateQueued || te.To != job.StateSucceeded {
		t.Errorf("err = %v, want *TransitionError queued → succeeded", err)
	}
	done := setState(t, s, j.ID, job.StateSucceeded)
	_, err = s.UpdateJob(t.Context(), j.ID, transition(job.StateRunning))
	wantErr(t, "transition out of a terminal state", err, job.ErrIllegalTransition)
	diff(t, "terminal job after illegal update", done, get(t, s, j.ID))
}

func updateInvalidJSON(t *testing.T, ns NewStore) {
	s := ns(t)
	j := create(t, s, newJob())
	_, err := s.UpdateJob(t.Context(), j.ID, func(j *job.Job) error {
		j.Graph = json.RawMessage(`{`)
		return nil
	})
	wantErr(t, "UpdateJob(invalid graph)", err, job.ErrInvalid)
	diff(t, "job after invalid update", j, get(t, s, j.ID))
}

// updateConcurrentClaims races claimers over jobs: each job must be claimed
// exactly once, and every loser must see ErrConflict.
func updateConcurrentClaims(t *testing.T, ns NewStore) {
	s := ns(t)
	const claimers, jobs = 8, 12
	created := createN(t, s, jobs)
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		winners = make([]atomic.Int32, jobs)
		backend = make([]atomic.Value, jobs)
	)
	for c := range claimers {
		wg.Go(func() {
			<-start
			for k := range jobs {
				i := (k + c) % jobs // claimers start at different jobs
				b := name("gpu", c)
				got, err := s.UpdateJob(context.Background(), created[i].ID, claim(b))
				switch {
				case err == nil:
					winners[i].Add(1)
					backend[i].Store(got.Backend)
				case !errors.Is(err, job.ErrConflict):
					t.Errorf("claim %d by %s: %v", i, b, err)
				}
			}
		})
	}
	close(start)
	wg.Wait()
	for i, j := range created {
		if n := winners[i].Load(); n != 1 {
			t.Errorf("job %d claimed %d times, want once", i, n)
			continue
		}
		got := get(t, s, j.ID)
		if got.State != job.StateDispatched || got.Attempts != 1 || got.Backend != backend[i].Load() {
			t.Errorf("job %d after claims: state %s attempts %d backend %s, want dispatched, 1, %v",
				i, got.State, got.Attempts, got.Backend, backend[i].Load())
		}
	}
}

// updateConcurrentIncrements checks that read-modify-writes do not lose
// updates: n goroutines each add 1 to a counter field m times.
func updateConcurrentIncrements(t *testing.T, ns NewStore) {
	s := ns(t)
	j := create(t, s, newJob())
	const n, m = 6, 10
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for range m {
				if _, err := s.UpdateJob(context.Background(), j.ID, func(j *job.Job) error {
					j.Progress.NodesDone++
					return nil
				}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got := get(t, s, j.ID).Progress.NodesDone; got != n*m {
		t.Errorf("NodesDone = %d after %d increments: updates were lost", got, n*m)
	}
}

func updatePanic(t *testing.T, ns NewStore) {
	s := ns(t)
	j := create(t, s, newJob())
	func() {
		defer func() { _ = recover() }() // a store may re-panic or return an error
		_, err := s.UpdateJob(t.Context(), j.ID, func(*job.Job) error { panic("boom") })
		if err == nil {
			t.Error("UpdateJob with a panicking fn returned nil")
		}
	}()
	if _, err := s.UpdateJob(t.Context(), j.ID, claim("a")); err != nil {
		t.Errorf("store unusable after a panicking fn: %v", err)
	}
}
