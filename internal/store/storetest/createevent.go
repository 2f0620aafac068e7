package storetest

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/comfygate/comfygate/internal/job"
)

var createWithEventTests = map[string]func(*testing.T, NewStore){
	"StoresJobAndFirstEvent": createEventStores,
	"KeepsEventTime":         createEventKeepsTime,
	"DoesNotModifyInput":     createEventKeepsInput,
	"NilEventIsCreateJob":    createEventNil,
	"ReplayStoresNoEvent":    createEventReplay,
	"MismatchStoresNothing":  createEventMismatch,
	"DuplicateIDStoresNone":  createEventDuplicateID,
	"InvalidEventStoresNone": createEventInvalid,
	"ConcurrentReplays":      createEventConcurrent,
}

// queued is the first event a submission records.
func queued() *job.Event {
	return &job.Event{JobID: "ignored", Seq: 99, Type: "queued", Data: json.RawMessage(`{"position": 0}`)}
}

// createEvent calls CreateJobWithEvent and fails the test on an error.
func createEvent(tb testing.TB, s job.Store, j *job.Job, e *job.Event) (*job.Job, bool, *job.Event) {
	tb.Helper()
	got, replayed, ev, err := s.CreateJobWithEvent(context.Background(), j, e)
	if err != nil {
		tb.Fatalf("CreateJobWithEvent: %v", err)
	}
	return got, replayed, ev
}

// events lists every event of job id.
func events(tb testing.TB, s job.Store, id string) []job.Event {
	tb.Helper()
	evs, err := s.ListEvents(context.Background(), id, 0, 0)
	if err != nil {
		tb.Fatalf("ListEvents(%s): %v", id, err)
	}
	return evs
}

func createEventStores(t *testing.T, ns NewStore) {
	s := ns(t)
	before := time.Now().Add(-time.Second)
	in := fullJob()
	got, replayed, ev := createEvent(t, s, in, queued())
	if replayed {
		t.Fatal("a new job was reported as a replay")
	}
	want := stored(in, got.Seq)
	want.EventSeq = 1
	diff(t, "CreateJobWithEvent job", want, got)
	diff(t, "GetJob", got, get(t, s, in.ID))
	if ev == nil || ev.Time.Before(before) || ev.Time.Location() != time.UTC {
		t.Fatalf("event %+v: want one with the store's now in UTC", ev)
	}
	wantEv := job.Event{JobID: in.ID, Seq: 1, Type: "queued", Data: json.RawMessage(`{"position": 0}`), Time: ev.Time}
	diff(t, "returned event", wantEv, *ev)
	diff(t, "ListEvents", []job.Event{wantEv}, events(t, s, in.ID))
	if next := appendEvent(t, s, in.ID, "dispatched"); next.Seq != 2 {
		t.Errorf("next event Seq = %d, want 2", next.Seq)
	}
}

func createEventKeepsTime(t *testing.T, ns NewStore) {
	s := ns(t)
	e := queued()
	e.Time = at(3).In(time.FixedZone("X", 3600)).Add(999 * time.Nanosecond)
	got, _, ev := createEvent(t, s, newJob(), e)
	if !ev.Time.Equal(at(3)) || ev.Time.Location() != time.UTC {
		t.Errorf("event time %v, want %v in UTC", ev.Time, at(3))
	}
	diff(t, "ListEvents", []job.Event{*ev}, events(t, s, got.ID))
}

func createEventKeepsInput(t *testing.T, ns NewStore) {
	in, e := fullJob(), queued()
	in.ID = ""
	snapshot, evSnapshot := *in, *e
	_, _, ev := createEvent(t, ns(t), in, e)
	diff(t, "job after CreateJobWithEvent", &snapshot, in)
	diff(t, "event after CreateJobWithEvent", &evSnapshot, e)
	ev.Data[0] = '['
	if e.Data[0] == '[' {
		t.Error("the returned event shares memory with the input")
	}
}

func createEventNil(t *testing.T, ns NewStore) {
	s := ns(t)
	got, replayed, ev := createEvent(t, s, newJob(), nil)
	if replayed || ev != nil || got.EventSeq != 0 {
		t.Errorf("replayed %v, event %v, EventSeq %d; want a new job, no event, 0", replayed, ev, got.EventSeq)
	}
	if evs := events(t, s, got.ID); len(evs) != 0 {
		t.Errorf("events %v, want none", evs)
	}
}

func createEventReplay(t *testing.T, ns NewStore) {
	s := ns(t)
	first, _, ev := createEvent(t, s, newJob(idem("o", "k", "h")), queued())
	again, replayed, ev2 := createEvent(t, s, newJob(idem("o", "k", "h")), queued())
	if !replayed || ev2 != nil {
		t.Fatalf("replay: replayed %v, event %v; want true and no event", replayed, ev2)
	}
	diff(t, "replayed job", first, again)
	diff(t, "events after replay", []job.Event{*ev}, events(t, s, first.ID))
}

func createEventMismatch(t *testing.T, ns NewStore) {
	s := ns(t)
	first, _, ev := createEvent(t, s, newJob(idem("o", "k", "h1")), queued())
	got, _, ev2, err := s.CreateJobWithEvent(t.Context(), newJob(idem("o", "k", "h2")), queued())
	wantErr(t, "CreateJobWithEvent(other request, same key)", err, job.ErrIdempotencyMismatch)
	if got != nil || ev2 != nil {
		t.Errorf("mismatch returned job %v event %v, want none", got, ev2)
	}
	diff(t, "first job's events", []job.Event{*ev}, events(t, s, first.ID))
}

func createEventDuplicateID(t *testing.T, ns NewStore) {
	s := ns(t)
	first, _, ev := createEvent(t, s, newJob(), queued())
	_, _, _, err := s.CreateJobWithEvent(t.Context(), newJob(func(j *job.Job) { j.ID = first.ID }), queued())
	wantErr(t, "CreateJobWithEvent(duplicate id)", err, job.ErrDuplicateID)
	diff(t, "first job", first, get(t, s, first.ID))
	diff(t, "first job's events", []job.Event{*ev}, events(t, s, first.ID))
}

func createEventInvalid(t *testing.T, ns NewStore) {
	s := ns(t)
	for name, e := range map[string]*job.Event{
		"empty type": {Data: json.RawMessage(`{}`)},
		"bad data":   {Type: "queued", Data: json.RawMessage(`{`)},
	} {
		_, _, _, err := s.CreateJobWithEvent(t.Context(), newJob(), e)
		wantErr(t, name, err, job.ErrInvalid)
	}
	if c, err := s.CountByState(t.Context()); err != nil || len(c) != 0 {
		t.Errorf("jobs after invalid events = %v, %v; want none", c, err)
	}
}

// createEventConcurrent: of concurrent submissions with one idempotency
// key, exactly one stores a job and its event.
func createEventConcurrent(t *testing.T, ns NewStore) {
	s := ns(t)
	const n = 8
	var (
		wg     sync.WaitGroup
		start  = make(chan struct{})
		jobs   = make([]*job.Job, n)
		firsts = make([]*job.Event, n)
		errs   = make([]error, n)
	)
	for i := range n {
		wg.Go(func() {
			<-start
			jobs[i], _, firsts[i], errs[i] = s.CreateJobWithEvent(context.Background(), newJob(idem("o", "k", "h")), queued())
		})
	}
	close(start)
	wg.Wait()
	var stored []job.Event
	for i := range n {
		if err := errs[i]; err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
		if jobs[i].ID != jobs[0].ID || jobs[i].EventSeq != 1 {
			t.Errorf("create %d returned job %s (EventSeq %d), want %s (1)", i, jobs[i].ID, jobs[i].EventSeq, jobs[0].ID)
		}
		if firsts[i] != nil {
			stored = append(stored, *firsts[i])
		}
	}
	if len(stored) != 1 {
		t.Fatalf("%d creates stored an event, want exactly 1", len(stored))
	}
	diff(t, "events", stored, events(t, s, jobs[0].ID))
}
