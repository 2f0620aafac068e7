package fleet

import (
	"context"
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
	return s.Store.UpdateJobWithEvent(ctx, id, fn)
}

func (s *countingStore) UpdateJobWithEvents(ctx context.Context, id string, fn func(*job.Job) ([]job.Event, error), arts ...*job.Artifact) (*job.Job, []job.Event, error) {
	s.updates.Add(1)
	return s.Store.UpdateJobWithEvents(ctx, id, fn, arts...)
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

// A job handed over with EnqueueJob is not read back; its terminal event
// carries the job it ended.
func TestEnqueueJobIsNotReadBack(t *testing.T) {
	t.Parallel()
	e, st := countingEnv(t, comfysim.Options{}, nil)
	stored, _, err := e.store.CreateJob(context.Background(), &job.Job{Graph: imageGraph(simCheckpoint, 1, 3), Source: job.SourceREST})
	if err != nil {
		t.Fatal(err)
	}
	e.fleet.EnqueueJob(stored)
	j := e.hub.waitTerminal(t, e.store, stored.ID)
	if n := st.gets.Load(); n != 1 { // waitTerminal's own
		t.Errorf("the fleet read the job %d times, want 0", n-1)
	}
	evs := e.hub.ofJob(stored.ID)
	end := evs[len(evs)-1]
	if end.Type != job.EventSucceeded || end.Job == nil || end.Job.State != j.State || len(end.Job.Outputs) != 1 {
		t.Errorf("terminal event %s carries %+v, want the succeeded job", end.Type, end.Job)
	}
}
