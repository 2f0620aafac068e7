package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/comfygate/comfygate/comfy/comfysim"
	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/job"
)

// writeCounter is a real store that counts its write transactions.
type writeCounter struct {
	countingStore
	creates atomic.Int64
}

func (s *writeCounter) CreateJobWithEvent(ctx context.Context, j *job.Job, e *job.Event) (*job.Job, bool, *job.Event, error) {
	s.creates.Add(1)
	return s.Store.CreateJobWithEvent(ctx, j, e)
}

func (s *writeCounter) CreateJobThenUpdate(ctx context.Context, j *job.Job, e *job.Event, fn func(*job.Job) (*job.Event, error)) (job.Creation, error) {
	s.creates.Add(1)
	return s.Store.CreateJobThenUpdate(ctx, j, e, fn)
}

func (s *writeCounter) writes() int64 { return s.creates.Load() + s.updates.Load() }

// newSubmission is a job as the gateway has it before storing it.
func newSubmission(graph json.RawMessage) *job.Job {
	return &job.Job{ID: uuid.NewString(), Owner: "alice", Source: job.SourceREST, Graph: graph, State: job.StateQueued, MaxAttempts: 3}
}

func queuedEvent() *job.Event { return job.NewEvent(job.EventQueued, job.QueuedData{}) }

// reserve waits until f reserves a slot for j: a backend takes jobs once
// its catalog is loaded and its socket is up.
func reserve(tb testing.TB, f *Fleet, j *job.Job) *Reservation {
	tb.Helper()
	var res *Reservation
	waitUntil(tb, "a reservation", func() bool { res = f.Reserve(j); return res != nil })
	return res
}

// storeReserved does what the gateway does with a reservation: one commit
// stores j dispatched, its first event is published, then its run starts.
func storeReserved(tb testing.TB, e *env, res *Reservation, j *job.Job) job.Creation {
	tb.Helper()
	c, err := e.store.CreateJobThenUpdate(context.Background(), j, queuedEvent(), res.Claim)
	if err != nil {
		res.Release()
		tb.Fatal(err)
	}
	e.hub.Publish(events.WithJob(c.Created, *c.First))
	res.Start(c.Updated, c.Next)
	return c
}

// A job stored dispatched by its submission's commit costs one write
// before ComfyUI has its prompt (a queued one two: create, claim), is not
// read back, and its subscribers see its events in order.
func TestReservedSubmitOneWriteBeforePrompt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		reserved bool
		want     int64
	}{
		{"stored dispatched", true, 1},
		{"stored queued, claimed", false, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := &writeCounter{countingStore: countingStore{Store: openStore(t, t.TempDir())}}
			g := startGatedSim(t, comfysim.Options{})
			var atPrompt atomic.Int64
			g.before("POST /prompt", func([]byte) { atPrompt.Store(st.writes()) })
			cfg := testConfig(st, newRecHub(), newMemArtifacts(), BackendConfig{ID: "gpu", URL: g.url, MaxInflight: 2})
			cfg.ProgressEvery, cfg.LeaseTTL = time.Hour, time.Hour
			e := startFleet(t, cfg)
			j := newSubmission(imageGraph(simCheckpoint, 1, 3))
			if tt.reserved {
				res := reserve(t, e.fleet, j)
				c := storeReserved(t, e, res, j)
				u := c.Updated
				if u.State != job.StateDispatched || u.Backend != "gpu" || u.Attempts != 1 || u.LeaseOwner != "test" || u.LeaseUntil.Before(time.Now().Add(50*time.Minute)) {
					t.Errorf("stored dispatched: %s on %q, attempt %d, lease %q until %v", u.State, u.Backend, u.Attempts, u.LeaseOwner, u.LeaseUntil)
				}
			} else {
				e.waitHealthy(t)
				c, _, first, err := st.CreateJobWithEvent(context.Background(), j, queuedEvent())
				if err != nil {
					t.Fatal(err)
				}
				e.hub.Publish(events.WithJob(c, *first))
				e.fleet.EnqueueJob(c)
			}
			done := e.hub.waitTerminal(t, st, j.ID)
			if done.State != job.StateSucceeded {
				t.Fatalf("job %s: %v", done.State, done.Error)
			}
			if got := atPrompt.Load(); got != tt.want {
				t.Errorf("%d write transactions before the prompt reached the backend, want %d", got, tt.want)
			}
			if n := st.gets.Load(); n != 1 { // waitTerminal's own
				t.Errorf("the fleet read the job %d times, want 0", n-1)
			}
			wantDurable(t, e.hub.ofJob(j.ID), job.EventQueued, job.EventDispatched, job.EventStarted, job.EventOutput, job.EventSucceeded)
		})
	}
}

// wantDurable checks the durable events published for a job: these types,
// in this order, numbered 1, 2, 3…
func wantDurable(tb testing.TB, evs []events.Event, types ...string) {
	tb.Helper()
	var got []string
	for _, e := range evs {
		if e.Sub != 0 {
			continue // ephemeral: progress, previews
		}
		if e.Seq != int64(len(got)+1) {
			tb.Errorf("event %s has seq %d, want %d", e.Type, e.Seq, len(got)+1)
		}
		got = append(got, e.Type)
	}
	if len(got) != len(types) {
		tb.Fatalf("durable events %v, want %v", got, types)
	}
	for i := range got {
		if got[i] != types[i] {
			tb.Fatalf("durable events %v, want %v", got, types)
		}
	}
}

// The fleet reserves a slot only when that passes no job over: with jobs
// waiting in its queue, none free, or none able to run the job, the job is
// queued as ever.
func TestReserveOnlyWhenNothingWaits(t *testing.T) {
	t.Parallel()
	// a runs only the small checkpoint; b has the XL one too.
	a := startSim(t, comfysim.Options{Checkpoints: []string{simCheckpoint}})
	b := startSim(t, comfysim.Options{})
	e := newEnv(t, backendOf("a", a, 1), backendOf("b", b, 1))
	const xl = "sd_xl_base_1.0.safetensors"
	small := func() *job.Job { return newSubmission(imageGraph(simCheckpoint, 1, 2)) }
	reserve(t, e.fleet, small()).Release()
	e.waitHealthy(t)

	held := []*Reservation{reserve(t, e.fleet, small()), reserve(t, e.fleet, small())}
	if res := e.fleet.Reserve(small()); res != nil {
		res.Release()
		t.Error("reserved a slot with every slot taken")
	}
	for _, res := range held {
		res.Release()
	}
	if res := e.fleet.Reserve(newSubmission(imageGraph("missing.safetensors", 1, 2))); res != nil {
		res.Release()
		t.Error("reserved a slot for a job no backend can run")
	}

	// A job waits for b, which drains: a is free, but the waiting job
	// would be passed over.
	if err := e.fleet.Drain("b"); err != nil {
		t.Fatal(err)
	}
	waiting := e.submit(t, imageGraph(xl, 2, 2))
	waitUntil(t, "the XL job in the queue view", func() bool { _, ok := e.fleet.QueuePosition(waiting); return ok })
	if res := e.fleet.Reserve(small()); res != nil {
		res.Release()
		t.Error("reserved a slot while a job waits in the queue")
	}
	if err := e.fleet.Resume("b"); err != nil {
		t.Fatal(err)
	}
	if j := e.hub.waitTerminal(t, e.store, waiting); j.State != job.StateSucceeded {
		t.Fatalf("waiting job: %s %v", j.State, j.Error)
	}
	reserve(t, e.fleet, small()).Release() // nothing waits any more

	e.stop(t)
	f, err := New(testConfig(openStore(t, t.TempDir()), newRecHub(), newMemArtifacts(), backendOf("a", a, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if res := f.Reserve(small()); res != nil {
		t.Error("a fleet not started reserved a slot")
	}
}

// Releasing a reservation frees its slot for the queue at once.
func TestReleaseLetsQueuedJobRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t, backendOf("gpu", startSim(t, comfysim.Options{}), 1))
	res := reserve(t, e.fleet, newSubmission(imageGraph(simCheckpoint, 1, 2)))
	id := e.submit(t, imageGraph(simCheckpoint, 2, 2))
	waitUntil(t, "the job in the queue view", func() bool { _, ok := e.fleet.QueuePosition(id); return ok })
	res.Release()
	res.Release() // harmless
	if j := e.hub.waitTerminal(t, e.store, id); j.State != job.StateSucceeded {
		t.Fatalf("queued job: %s %v", j.State, j.Error)
	}
}

// A cancel that reaches a job stored dispatched before its run starts is
// acted on by the run, not left for the next lease renewal.
func TestCancelJustStoredDispatched(t *testing.T) {
	t.Parallel()
	s := startSim(t, comfysim.Options{StepDelay: 50 * time.Millisecond})
	cfg := testConfig(openStore(t, t.TempDir()), newRecHub(), newMemArtifacts(), backendOf("gpu", s, 1))
	cfg.LeaseTTL = time.Hour // no renewal sees the cancel
	e := startFleet(t, cfg)
	j := newSubmission(imageGraph(simCheckpoint, 1, 200)) // ~10s
	res := reserve(t, e.fleet, j)
	c, err := e.store.CreateJobThenUpdate(context.Background(), j, queuedEvent(), res.Claim)
	if err != nil {
		t.Fatal(err)
	}
	cancelled := make(chan error, 1)
	go func() {
		_, err := e.fleet.Cancel(context.Background(), j.ID)
		cancelled <- err
	}()
	waitUntil(t, "the cancel recorded", func() bool {
		got, err := e.store.GetJob(context.Background(), j.ID)
		return err == nil && got.CancelRequested
	})
	e.hub.Publish(events.WithJob(c.Created, *c.First))
	res.Start(c.Updated, c.Next)
	if err := <-cancelled; err != nil {
		t.Fatal(err)
	}
	if done := e.hub.waitTerminal(t, e.store, j.ID); done.State != job.StateCancelled {
		t.Errorf("state %s, want cancelled", done.State)
	}
}

// A reservation started after the fleet stopped starts nothing: the job
// stays dispatched and leased, for the next start to re-attach.
func TestReservationStartedAfterStop(t *testing.T) {
	t.Parallel()
	s := startSim(t, comfysim.Options{})
	e := newEnv(t, backendOf("gpu", s, 1))
	j := newSubmission(imageGraph(simCheckpoint, 1, 2))
	res := reserve(t, e.fleet, j)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := e.fleet.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop with a reservation held = %v, want it to wait for it until its deadline", err)
	}
	f := e.fleet
	e.fleet = nil
	e.cancel()
	if f.Reserve(newSubmission(imageGraph(simCheckpoint, 2, 2))) != nil {
		t.Error("a stopped fleet reserved a slot")
	}
	c := storeReserved(t, e, res, j)
	if got, err := e.store.GetJob(context.Background(), j.ID); err != nil || got.State != job.StateDispatched || got.LeaseOwner != "test" {
		t.Fatalf("job after a start past Stop: %+v, %v; want dispatched and leased", got, err)
	}
	if n := s.Stats().PromptsReceived; n != 0 {
		t.Errorf("the backend got %d prompts, want none", n)
	}
	wantDurable(t, e.hub.ofJob(c.Updated.ID), job.EventQueued, job.EventDispatched)
}
