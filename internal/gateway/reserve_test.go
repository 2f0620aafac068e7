package gateway

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/job"
)

// fakeReserver is a hand-written Reserver: ReserveFunc decides (nil: no
// slot), and every call is counted.
type fakeReserver struct {
	ReserveFunc func(j *job.Job) Reservation
	calls       atomic.Int64
}

func (r *fakeReserver) Reserve(j *job.Job) Reservation {
	r.calls.Add(1)
	if r.ReserveFunc == nil {
		return nil
	}
	return r.ReserveFunc(j)
}

// fakeReservation records what the gateway did with it. ClaimFunc
// defaults to a claim for backend "gpu-1"; StartFunc, if set, runs on
// Start.
type fakeReservation struct {
	ClaimFunc func(j *job.Job) (*job.Event, error)
	StartFunc func(j *job.Job, ev *job.Event)

	mu       sync.Mutex // guards the fields below
	started  []*job.Event
	released int
}

func (r *fakeReservation) Claim(j *job.Job) (*job.Event, error) {
	if r.ClaimFunc != nil {
		return r.ClaimFunc(j)
	}
	j.Backend = "gpu-1"
	if err := j.TransitionTo(job.StateDispatched, time.Now()); err != nil {
		return nil, err
	}
	j.LeaseOwner, j.LeaseUntil = "replica-1", time.Now().Add(time.Minute)
	return job.NewEvent(job.EventDispatched, job.DispatchedData{Backend: j.Backend, Attempt: j.Attempts}), nil
}

func (r *fakeReservation) Start(j *job.Job, ev *job.Event) {
	if r.StartFunc != nil {
		r.StartFunc(j, ev)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.started = append(r.started, ev)
}

func (r *fakeReservation) Release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.released++
}

// ended returns how often it was started and released.
func (r *fakeReservation) ended() (started, released int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.started), r.released
}

// writeCounter is a real store that counts its write transactions of jobs.
type writeCounter struct {
	job.Store
	n atomic.Int64
}

func (s *writeCounter) CreateJobWithEvent(ctx context.Context, j *job.Job, e *job.Event) (*job.Job, bool, *job.Event, error) {
	s.n.Add(1)
	return s.Store.CreateJobWithEvent(ctx, j, e)
}

func (s *writeCounter) CreateJobThenUpdate(ctx context.Context, j *job.Job, e *job.Event, fn func(*job.Job) (*job.Event, error)) (job.Creation, error) {
	s.n.Add(1)
	return s.Store.CreateJobThenUpdate(ctx, j, e, fn)
}

func (s *writeCounter) UpdateJobWithEvent(ctx context.Context, id string, fn func(*job.Job) (*job.Event, error)) (*job.Job, *job.Event, error) {
	s.n.Add(1)
	return s.Store.UpdateJobWithEvent(ctx, id, fn)
}

func (s *writeCounter) UpdateJob(ctx context.Context, id string, fn func(*job.Job) error) (*job.Job, error) {
	s.n.Add(1)
	return s.Store.UpdateJob(ctx, id, fn)
}

// withReserver gives the Service r, and a store that counts writes.
func withReserver(r Reserver, writes **writeCounter) envOption {
	return func(c *Config) {
		c.Reserver = r
		*writes = &writeCounter{Store: c.Store}
		c.Store = *writes
	}
}

// A submission that gets a reservation is stored dispatched by its one
// commit, with its queued then dispatched events; its first event is
// published before the run starts, and the scheduler is not asked.
func TestSubmitReservedStoresDispatched(t *testing.T) {
	res := &fakeReservation{}
	var writes *writeCounter
	e := newEnv(t, withReserver(&fakeReserver{ReserveFunc: func(*job.Job) Reservation { return res }}, &writes))
	ctx := context.Background()
	sub, err := e.hub.SubscribeAll(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	var beforeStart []events.Event
	res.StartFunc = func(*job.Job, *job.Event) {
		for {
			select {
			case ev := <-sub.C():
				beforeStart = append(beforeStart, ev)
				continue
			default:
			}
			return
		}
	}
	got, err := e.svc.Submit(ctx, rest("alice", job.Submission{Prompt: imagePrompt("")}))
	if err != nil {
		t.Fatal(err)
	}
	if n := writes.n.Load(); n != 1 {
		t.Errorf("%d write transactions, want 1", n)
	}
	if started, released := res.ended(); started != 1 || released != 0 {
		t.Fatalf("reservation started %d times, released %d; want started once", started, released)
	}
	if ev := res.started[0]; ev.Type != job.EventDispatched || ev.Seq != 2 || ev.JobID != got.ID {
		t.Errorf("started with event %+v, want the job's dispatched event, seq 2", ev)
	}
	if len(beforeStart) != 1 || beforeStart[0].Type != job.EventQueued || beforeStart[0].Seq != 1 {
		t.Errorf("published before the start: %+v, want the queued event", beforeStart)
	}
	if got.State != job.StateQueued || got.QueuePosition == nil || *got.QueuePosition != 0 {
		t.Errorf("answer: %s at %v; want queued at 0, as the first event says", got.State, got.QueuePosition)
	}
	stored, err := e.store.GetJob(ctx, got.ID)
	if err != nil || stored.State != job.StateDispatched || stored.Backend != "gpu-1" || stored.Attempts != 1 {
		t.Errorf("stored %+v, %v; want dispatched to gpu-1, attempt 1", stored, err)
	}
	evs, err := e.store.ListEvents(ctx, got.ID, 0, 0)
	if err != nil || len(evs) != 2 || evs[0].Type != job.EventQueued || evs[1].Type != job.EventDispatched {
		t.Errorf("events %+v, %v; want queued, dispatched", evs, err)
	}
	if q := e.fleet.Enqueued(); len(q) != 0 {
		t.Errorf("enqueued %v, want none", q)
	}
}

// A reservation whose job is not stored dispatched is released, and the
// submission goes on as without one; a prompt_id's job is not reserved
// for (its id is not settled before its commit).
func TestSubmitReservationReleased(t *testing.T) {
	ctx := context.Background()
	keyed := func(hash string) job.Submission {
		return rest("alice", job.Submission{Prompt: imagePrompt(""), IdempotencyKey: "k", RequestHash: hash})
	}
	tests := []struct {
		name      string
		claim     func(*job.Job) (*job.Event, error)
		setup     func(t *testing.T, e *env) // before the submission
		sub       job.Submission
		wantErr   bool
		wantAsked bool // Reserve was called
		wantState job.State
	}{
		{name: "store fails", setup: func(t *testing.T, e *env) { e.store.Close() },
			sub: rest("alice", job.Submission{Prompt: imagePrompt("")}), wantErr: true, wantAsked: true},
		{name: "claim fails", claim: func(*job.Job) (*job.Event, error) { return nil, job.ErrConflict },
			sub: rest("alice", job.Submission{Prompt: imagePrompt("")}), wantErr: true, wantAsked: true},
		{name: "replay", setup: func(t *testing.T, e *env) {
			if _, err := e.svc.Submit(ctx, keyed("h")); err != nil {
				t.Fatal(err)
			}
		}, sub: keyed("h"), wantAsked: true, wantState: job.StateQueued},
		{name: "key reused", setup: func(t *testing.T, e *env) {
			if _, err := e.svc.Submit(ctx, keyed("h1")); err != nil {
				t.Fatal(err)
			}
		}, sub: keyed("h2"), wantErr: true, wantAsked: true},
		{name: "prompt_id", sub: job.Submission{Source: job.SourceComfy, Owner: "alice", PromptID: "my-run", Prompt: imagePrompt("")},
			wantState: job.StateQueued},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				r       = &fakeReserver{}
				writes  *writeCounter
				reserve atomic.Bool // reserve only for the submission under test
				res     = &fakeReservation{ClaimFunc: tt.claim}
			)
			r.ReserveFunc = func(*job.Job) Reservation {
				if !reserve.Load() {
					return nil
				}
				return res
			}
			e := newEnv(t, withReserver(r, &writes))
			if tt.setup != nil {
				tt.setup(t, e)
			}
			reserve.Store(true)
			asked := r.calls.Load()
			got, err := e.svc.Submit(ctx, tt.sub)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Submit error = %v, want error %v", err, tt.wantErr)
			}
			if (r.calls.Load() > asked) != tt.wantAsked {
				t.Errorf("Reserve called: %v, want %v", r.calls.Load() > asked, tt.wantAsked)
			}
			wantReleased := 0
			if tt.wantAsked {
				wantReleased = 1
			}
			if started, released := res.ended(); started != 0 || released != wantReleased {
				t.Errorf("reservation started %d times, released %d; want released %d", started, released, wantReleased)
			}
			if err != nil {
				if !errors.Is(err, job.ErrClosed) && tt.name == "store fails" {
					t.Errorf("error %v, want the store's", err)
				}
				return
			}
			stored, err := e.store.GetJob(ctx, got.ID)
			if err != nil || stored.State != tt.wantState {
				t.Errorf("stored %+v, %v; want %s", stored, err, tt.wantState)
			}
		})
	}
}
