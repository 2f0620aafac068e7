package fleet

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/comfygate/comfygate/comfy/comfysim"
	"github.com/comfygate/comfygate/internal/job"
)

// countingStore is a real store that counts the reads and transactions
// the fleet makes of each job.
type countingStore struct {
	job.Store
	gets, updates atomic.Int64

	mu     sync.Mutex
	writes []countedWrite // the event-making writes, in order
}

// countedWrite is one write that made events: their types, and whether it
// deferred its sync.
type countedWrite struct {
	events   []string
	deferred bool
}

func (s *countingStore) record(ctx context.Context, evs ...job.Event) {
	w := countedWrite{deferred: job.SyncDeferred(ctx)}
	for _, e := range evs {
		w.events = append(w.events, e.Type)
	}
	s.mu.Lock()
	s.writes = append(s.writes, w)
	s.mu.Unlock()
}

func (s *countingStore) GetJob(ctx context.Context, id string) (*job.Job, error) {
	s.gets.Add(1)
	return s.Store.GetJob(ctx, id)
}

func (s *countingStore) UpdateJob(ctx context.Context, id string, fn func(*job.Job) error) (*job.Job, error) {
	s.updates.Add(1)
	return s.Store.UpdateJob(ctx, id, fn)
}

func (s *countingStore) UpdateJobWithEvent(ctx context.Context, id string, fn func(*job.Job) (*job.Event, error)) (*job.Job, *job.Event, error) {
	s.updates.Add(1)
	j, ev, err := s.Store.UpdateJobWithEvent(ctx, id, fn)
	if err == nil && ev != nil {
		s.record(ctx, *ev)
	}
	return j, ev, err
}

func (s *countingStore) UpdateJobWithEvents(ctx context.Context, id string, fn func(*job.Job) ([]job.Event, error), arts ...*job.Artifact) (*job.Job, []job.Event, error) {
	s.updates.Add(1)
	j, evs, err := s.Store.UpdateJobWithEvents(ctx, id, fn, arts...)
	if err == nil {
		s.record(ctx, evs...)
	}
	return j, evs, err
}

// countingEnv is a fleet over one simulator whose store counts; mod
// changes its config.
func countingEnv(tb testing.TB, opts comfysim.Options, mod func(*Config)) (*env, *countingStore) {
	tb.Helper()
	st := &countingStore{Store: openStore(tb, tb.TempDir())}
	cfg := testConfig(st, newRecHub(), newMemArtifacts(), backendOf("gpu", startSim(tb, opts), 2))
	// No progress writes or lease renewals among the counted ones.
	cfg.ProgressEvery, cfg.LeaseTTL = time.Hour, time.Hour
	if mod != nil {
		mod(&cfg)
	}
	e := startFleet(tb, cfg)
	return e, st
}

// runEnqueued stores an image job, hands it to e's fleet with EnqueueJob
// and waits for its end; it returns the job as stored and as it ended.
func runEnqueued(t *testing.T, e *env) (stored, ended *job.Job) {
	t.Helper()
	stored, _, err := e.store.CreateJob(context.Background(), &job.Job{Graph: imageGraph(simCheckpoint, 1, 3), Source: job.SourceREST})
	if err != nil {
		t.Fatal(err)
	}
	e.fleet.EnqueueJob(stored)
	return stored, e.hub.waitTerminal(t, e.store, stored.ID)
}

// A job handed over with EnqueueJob is not read back; its terminal event
// carries the job it ended.
func TestEnqueueJobIsNotReadBack(t *testing.T) {
	t.Parallel()
	e, st := countingEnv(t, comfysim.Options{}, nil)
	stored, j := runEnqueued(t, e)
	if n := st.gets.Load(); n != 1 { // waitTerminal's own
		t.Errorf("the fleet read the job %d times, want 0", n-1)
	}
	evs := e.hub.ofJob(stored.ID)
	end := evs[len(evs)-1]
	if end.Type != job.EventSucceeded || end.Job == nil || end.Job.State != j.State || len(end.Job.Outputs) != 1 {
		t.Errorf("terminal event %s carries %+v, want the succeeded job", end.Type, end.Job)
	}
}

// A run defers the sync of what recovery can redo (the claim, the start)
// and never of what it reports: the outputs and the terminal state.
func TestRunDefersOnlyRecoverableWrites(t *testing.T) {
	t.Parallel()
	e, st := countingEnv(t, comfysim.Options{}, nil)
	runEnqueued(t, e)
	st.mu.Lock()
	defer st.mu.Unlock()
	var claimed, ended bool
	for _, w := range st.writes {
		for _, typ := range w.events {
			switch {
			case typ == job.EventDispatched:
				claimed = true
				if !w.deferred {
					t.Errorf("the claim (%v) waited for the disk", w.events)
				}
			case job.TerminalEvent(typ):
				ended = true
				if w.deferred {
					t.Errorf("the terminal write (%v) deferred its sync", w.events)
				}
			}
		}
	}
	if !claimed || !ended {
		t.Errorf("writes %+v: want a claim and a terminal write", st.writes)
	}
}
