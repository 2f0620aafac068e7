package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/comfygate/comfygate/internal/job"
)

var createThenUpdateTests = map[string]func(*testing.T, NewStore){
	"StoresBothInOrder":       createThenStores,
	"SameAsCreateThenClaim":   createThenSameAsTwoCommits,
	"NoEventFromFn":           createThenNoNext,
	"FnErrorStoresNothing":    createThenFnError,
	"BadTransitionStoresNone": createThenBadTransition,
	"InvalidEventsStoreNone":  createThenInvalidEvents,
	"ReplayStoresNothing":     createThenReplay,
	"MismatchStoresNothing":   createThenMismatch,
	"DuplicateIDStoresNone":   createThenDuplicateID,
	"WebhookShowsEachState":   createThenWebhooks,
	"ReturnsFreshCopies":      createThenFreshCopies,
}

// claimAt is an update fn that binds a queued job to backend "gpu-1" as
// the fleet's claim does, at now.
func claimAt(now time.Time) func(*job.Job) (*job.Event, error) {
	return func(j *job.Job) (*job.Event, error) {
		if !j.State.Dispatchable() || j.CancelRequested {
			return nil, job.ErrConflict
		}
		j.Backend = "gpu-1"
		if err := j.TransitionTo(job.StateDispatched, now); err != nil {
			return nil, err
		}
		j.LeaseOwner, j.LeaseUntil = "replica-1", now.Add(30*time.Second)
		j.Progress, j.Error = job.Progress{}, nil
		return job.NewEvent(job.EventDispatched, job.DispatchedData{Backend: j.Backend, Attempt: j.Attempts}), nil
	}
}

// queuedFull is fullJob as a submission stores it: queued, never run.
func queuedFull() *job.Job {
	j := fullJob()
	j.State, j.Attempts, j.AttemptLog, j.Backend, j.CancelRequested = job.StateQueued, 0, nil, "", false
	j.Progress, j.Outputs, j.Error, j.ComfyHistory = job.Progress{}, nil, nil, nil
	j.DispatchedAt, j.StartedAt, j.FinishedAt = time.Time{}, time.Time{}, time.Time{}
	j.LeaseOwner, j.LeaseUntil = "", time.Time{}
	return j
}

// createThen calls CreateJobThenUpdate and fails the test on an error.
func createThen(tb testing.TB, s job.Store, j *job.Job, fn func(*job.Job) (*job.Event, error)) job.Creation {
	tb.Helper()
	c, err := s.CreateJobThenUpdate(context.Background(), j, queued(), fn)
	if err != nil {
		tb.Fatalf("CreateJobThenUpdate: %v", err)
	}
	return c
}

func createThenStores(t *testing.T, ns NewStore) {
	s := ns(t)
	in := queuedFull()
	c := createThen(t, s, in, claimAt(at(5)))
	if c.Replayed || c.Created == nil || c.Updated == nil || c.First == nil || c.Next == nil {
		t.Fatalf("creation %+v: want a new job, both jobs and both events", c)
	}
	want := stored(in, c.Created.Seq)
	want.EventSeq = 1
	diff(t, "Created", want, c.Created)
	if c.Updated.State != job.StateDispatched || c.Updated.Attempts != 1 || c.Updated.EventSeq != 2 || c.Updated.Seq != c.Created.Seq {
		t.Errorf("Updated: state %s, attempts %d, EventSeq %d, Seq %d; want dispatched, 1, 2, %d",
			c.Updated.State, c.Updated.Attempts, c.Updated.EventSeq, c.Updated.Seq, c.Created.Seq)
	}
	diff(t, "GetJob", c.Updated, get(t, s, in.ID))
	wantEvs := []job.Event{
		{JobID: in.ID, Seq: 1, Type: "queued", Data: json.RawMessage(`{"position": 0}`), Time: c.First.Time},
		{JobID: in.ID, Seq: 2, Type: job.EventDispatched, Data: json.RawMessage(`{"backend":"gpu-1","attempt":1}`), Time: c.Next.Time},
	}
	diff(t, "returned events", wantEvs, []job.Event{*c.First, *c.Next})
	diff(t, "ListEvents", wantEvs, events(t, s, in.ID))
	if next := appendEvent(t, s, in.ID, "started"); next.Seq != 3 {
		t.Errorf("next event Seq = %d, want 3", next.Seq)
	}
	if order, err := s.DispatchOrder(t.Context(), 0); err != nil || len(order) != 0 {
		t.Errorf("DispatchOrder = %v, %v; want nothing waiting", ids(order), err)
	}
	if active, err := s.ActiveJobs(t.Context()); err != nil || len(active) != 1 || active[0].ID != in.ID {
		t.Errorf("ActiveJobs = %v, %v; want [%s]", ids(active), err, in.ID)
	}
}

// createThenSameAsTwoCommits: the job stored by one call is the job the
// two commits it replaces store, lease and attempts included.
func createThenSameAsTwoCommits(t *testing.T, ns NewStore) {
	s := ns(t)
	a := newJob(func(j *job.Job) { j.ID, j.CreatedAt = "two-commits", at(1) })
	if _, _, _, err := s.CreateJobWithEvent(t.Context(), a, queued()); err != nil {
		t.Fatal(err)
	}
	old, _, err := s.UpdateJobWithEvent(t.Context(), a.ID, claimAt(at(2)))
	if err != nil {
		t.Fatal(err)
	}
	b := newJob(func(j *job.Job) { j.ID, j.CreatedAt = "one-commit", at(1) })
	c := createThen(t, s, b, claimAt(at(2)))
	ignore := cmpopts.IgnoreFields(job.Job{}, "ID", "Seq", "UpdatedAt")
	diff(t, "job of one commit vs two", old, c.Updated, ignore)
	diff(t, "GetJob vs two commits", get(t, s, a.ID), get(t, s, b.ID), ignore)
	strip := func(evs []job.Event) []job.Event {
		for i := range evs {
			evs[i].JobID, evs[i].Time = "", time.Time{}
		}
		return evs
	}
	diff(t, "events of one commit vs two", strip(events(t, s, a.ID)), strip(events(t, s, b.ID)))
}

func createThenNoNext(t *testing.T, ns NewStore) {
	s := ns(t)
	c := createThen(t, s, newJob(), func(j *job.Job) (*job.Event, error) {
		j.Priority = 7
		return nil, nil
	})
	if c.Next != nil || c.Updated.EventSeq != 1 || c.Updated.Priority != 7 {
		t.Errorf("Next %v, EventSeq %d, priority %d; want no event, 1, 7", c.Next, c.Updated.EventSeq, c.Updated.Priority)
	}
	diff(t, "ListEvents", []job.Event{*c.First}, events(t, s, c.Updated.ID))
}

// wantNoJobs fails the test if s holds any job.
func wantNoJobs(tb testing.TB, s job.Store) {
	tb.Helper()
	if c, err := s.CountByState(context.Background()); err != nil || len(c) != 0 {
		tb.Errorf("jobs = %v, %v; want none", c, err)
	}
}

func createThenFnError(t *testing.T, ns NewStore) {
	s := ns(t)
	boom := errors.New("boom")
	_, err := s.CreateJobThenUpdate(t.Context(), newJob(), queued(), func(*job.Job) (*job.Event, error) { return nil, boom })
	if err != boom {
		t.Errorf("error = %v, want fn's own error unchanged", err)
	}
	wantNoJobs(t, s)
}

func createThenBadTransition(t *testing.T, ns NewStore) {
	s := ns(t)
	_, err := s.CreateJobThenUpdate(t.Context(), newJob(), queued(), func(j *job.Job) (*job.Event, error) {
		j.State = job.StateSucceeded // queued → succeeded skips the run
		return nil, nil
	})
	var te *job.TransitionError
	if !errors.As(err, &te) {
		t.Errorf("error = %v, want a *job.TransitionError", err)
	}
	wantNoJobs(t, s)
}

func createThenInvalidEvents(t *testing.T, ns NewStore) {
	s := ns(t)
	cases := map[string]struct {
		first *job.Event
		next  *job.Event
	}{
		"nil first":      {nil, job.NewEvent("dispatched", nil)},
		"bad first data": {&job.Event{Type: "queued", Data: json.RawMessage(`{`)}, nil},
		"empty next":     {queued(), &job.Event{Data: json.RawMessage(`{}`)}},
		"bad next data":  {queued(), &job.Event{Type: "dispatched", Data: json.RawMessage(`[`)}},
	}
	for name, tc := range cases {
		_, err := s.CreateJobThenUpdate(t.Context(), newJob(), tc.first, func(*job.Job) (*job.Event, error) { return tc.next, nil })
		wantErr(t, name, err, job.ErrInvalid)
	}
	wantNoJobs(t, s)
}

func createThenReplay(t *testing.T, ns NewStore) {
	s := ns(t)
	first, _, ev := createEvent(t, s, newJob(idem("o", "k", "h")), queued())
	c := createThen(t, s, newJob(idem("o", "k", "h")), claimAt(at(2)))
	if !c.Replayed || c.First != nil || c.Updated != nil || c.Next != nil {
		t.Fatalf("replay %+v: want Replayed and only Created", c)
	}
	diff(t, "replayed job", first, c.Created)
	diff(t, "stored job", first, get(t, s, first.ID))
	diff(t, "events after replay", []job.Event{*ev}, events(t, s, first.ID))
}

func createThenMismatch(t *testing.T, ns NewStore) {
	s := ns(t)
	first, _, ev := createEvent(t, s, newJob(idem("o", "k", "h1")), queued())
	c, err := s.CreateJobThenUpdate(t.Context(), newJob(idem("o", "k", "h2")), queued(), claimAt(at(2)))
	wantErr(t, "CreateJobThenUpdate(other request, same key)", err, job.ErrIdempotencyMismatch)
	if c != (job.Creation{}) {
		t.Errorf("mismatch returned %+v, want nothing", c)
	}
	diff(t, "first job", first, get(t, s, first.ID))
	diff(t, "first job's events", []job.Event{*ev}, events(t, s, first.ID))
}

func createThenDuplicateID(t *testing.T, ns NewStore) {
	s := ns(t)
	first, _, ev := createEvent(t, s, newJob(), queued())
	_, err := s.CreateJobThenUpdate(t.Context(), newJob(func(j *job.Job) { j.ID = first.ID }), queued(), claimAt(at(2)))
	wantErr(t, "CreateJobThenUpdate(duplicate id)", err, job.ErrDuplicateID)
	diff(t, "first job", first, get(t, s, first.ID))
	diff(t, "first job's events", []job.Event{*ev}, events(t, s, first.ID))
}

// createThenWebhooks: each event's webhook message shows the job as that
// event left it (the outbox rule), not as the commit left it.
func createThenWebhooks(t *testing.T, ns NewStore) {
	s, ws := outbox(t, ns)
	in := newJob(withHook(job.WebhookStarted, job.WebhookCancelled))
	started := &job.Event{Type: job.EventStarted, Data: json.RawMessage(`{}`)}
	c, err := s.CreateJobThenUpdate(t.Context(), in, started, func(j *job.Job) (*job.Event, error) {
		if err := j.TransitionTo(job.StateCancelled, at(3)); err != nil {
			return nil, err
		}
		return job.NewEvent(job.EventCancelled, nil), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := ws.ListWebhookMessages(t.Context(), c.Updated.ID)
	if err != nil {
		t.Fatal(err)
	}
	type shown struct {
		EventSeq int64
		Type     string
		State    job.State
	}
	var got []shown
	for _, m := range msgs {
		got = append(got, shown{m.EventSeq, m.Type, m.Job.State})
	}
	diff(t, "webhook messages", []shown{{1, job.WebhookStarted, job.StateQueued}, {2, job.WebhookCancelled, job.StateCancelled}}, got)
}

func createThenFreshCopies(t *testing.T, ns NewStore) {
	s := ns(t)
	in := queuedFull()
	snapshot := *in
	c := createThen(t, s, in, claimAt(at(9)))
	diff(t, "input after CreateJobThenUpdate", &snapshot, in)
	c.Created.Graph[0] = '['
	if c.Updated.Graph[0] == '[' || in.Graph[0] == '[' {
		t.Error("the created job shares its graph with the updated job or the input")
	}
	c.Updated.Graph[0] = '['
	if in.Graph[0] == '[' {
		t.Error("the updated job shares its graph with the input")
	}
	diff(t, "stored job", get(t, s, in.ID).Graph, snapshot.Graph)
}
