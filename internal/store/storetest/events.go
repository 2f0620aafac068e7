package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/comfygate/comfygate/internal/job"
)

var updateWithEventTests = map[string]func(*testing.T, NewStore){
	"AppendsEvent":        updateWithEventAppends,
	"NilEventAppendsNone": updateWithEventNil,
	"AbortStoresNeither":  updateWithEventAbort,
	"InvalidEventAborts":  updateWithEventInvalid,
}

var eventTests = map[string]func(*testing.T, NewStore){
	"AppendAndList":        eventsAppendAndList,
	"UnknownJob":           eventsUnknownJob,
	"NoEventsIsEmpty":      eventsNone,
	"Invalid":              eventsInvalid,
	"ConcurrentNoGaps":     eventsConcurrent,
	"LimitDefaultAndAfter": eventsLimit,
}

func updateWithEventAppends(t *testing.T, ns NewStore) {
	s := ns(t)
	j := create(t, s, newJob())
	got, ev, err := s.UpdateJobWithEvent(t.Context(), j.ID, func(j *job.Job) (*job.Event, error) {
		j.Backend = "a"
		if err := j.TransitionTo(job.StateDispatched, at(1)); err != nil {
			return nil, err
		}
		return &job.Event{JobID: "ignored", Seq: 77, Type: "dispatched", Data: json.RawMessage(`{"backend":"a"}`), Time: at(1)}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := &job.Event{JobID: j.ID, Seq: 1, Type: "dispatched", Data: json.RawMessage(`{"backend":"a"}`), Time: at(1)}
	diff(t, "returned event", want, ev)
	if got.EventSeq != 1 || got.State != job.StateDispatched {
		t.Errorf("job EventSeq %d state %s, want 1 dispatched", got.EventSeq, got.State)
	}
	diff(t, "GetJob", got, get(t, s, j.ID))
	events, err := s.ListEvents(t.Context(), j.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "ListEvents", []job.Event{*want}, events)

	_, ev2, err := s.UpdateJobWithEvent(t.Context(), j.ID, func(j *job.Job) (*job.Event, error) {
		return &job.Event{Type: "running"}, nil
	})
	if err != nil || ev2.Seq != 2 || ev2.Time.IsZero() || ev2.Time.Location() != time.UTC {
		t.Errorf("second event = %+v, %v; want seq 2 with a UTC time", ev2, err)
	}
}

func updateWithEventNil(t *testing.T, ns NewStore) {
	s := ns(t)
	j := create(t, s, newJob())
	got, ev, err := s.UpdateJobWithEvent(t.Context(), j.ID, func(j *job.Job) (*job.Event, error) {
		j.Priority = 3
		return nil, nil
	})
	if err != nil || ev != nil || got.EventSeq != 0 || got.Priority != 3 {
		t.Errorf("got job %+v event %v err %v; want priority 3, no event", got, ev, err)
	}
	if events, err := s.ListEvents(t.Context(), j.ID, 0, 0); err != nil || len(events) != 0 {
		t.Errorf("ListEvents = %v, %v; want none", events, err)
	}
}

func updateWithEventAbort(t *testing.T, ns NewStore) {
	s := ns(t)
	j := create(t, s, newJob())
	sentinel := errors.New("no")
	_, _, err := s.UpdateJobWithEvent(t.Context(), j.ID, func(j *job.Job) (*job.Event, error) {
		j.Priority = 3
		return &job.Event{Type: "x"}, sentinel
	})
	if err != sentinel { //nolint:errorlint // returned unchanged
		t.Errorf("err = %v, want fn's error", err)
	}
	diff(t, "job after abort", j, get(t, s, j.ID))
	if events, _ := s.ListEvents(t.Context(), j.ID, 0, 0); len(events) != 0 {
		t.Errorf("events after abort: %v", events)
	}
}

func updateWithEventInvalid(t *testing.T, ns NewStore) {
	s := ns(t)
	j := create(t, s, newJob())
	for name, ev := range map[string]*job.Event{
		"empty type": {Data: json.RawMessage(`{}`)},
		"bad data":   {Type: "x", Data: json.RawMessage(`{`)},
	} {
		_, _, err := s.UpdateJobWithEvent(t.Context(), j.ID, func(j *job.Job) (*job.Event, error) {
			j.Priority = 3
			return ev, nil
		})
		wantErr(t, name, err, job.ErrInvalid)
	}
	diff(t, "job after invalid events", j, get(t, s, j.ID))
}

func appendEvent(tb testing.TB, s job.Store, id, typ string) job.Event {
	tb.Helper()
	e, err := s.AppendEvent(context.Background(), id, job.Event{Type: typ})
	if err != nil {
		tb.Fatalf("AppendEvent(%s): %v", typ, err)
	}
	return e
}

func eventsAppendAndList(t *testing.T, ns NewStore) {
	s := ns(t)
	j := create(t, s, newJob())
	other := create(t, s, newJob())
	var want []job.Event
	for i := range 5 {
		e, err := s.AppendEvent(t.Context(), j.ID, job.Event{JobID: "ignored", Type: name("e", i), Data: json.RawMessage(`[1, 2]`), Time: at(i)})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, job.Event{JobID: j.ID, Seq: int64(i + 1), Type: name("e", i), Data: json.RawMessage(`[1, 2]`), Time: at(i)})
		diff(t, "AppendEvent result", want[i], e)
	}
	appendEvent(t, s, other.ID, "other") // numbered independently
	got, err := s.ListEvents(t.Context(), j.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "ListEvents", want, got)
	if e := appendEvent(t, s, other.ID, "other2"); e.Seq != 2 {
		t.Errorf("second event of another job has seq %d, want 2", e.Seq)
	}
	if j2 := get(t, s, j.ID); j2.EventSeq != 5 {
		t.Errorf("job EventSeq = %d, want 5", j2.EventSeq)
	}
}

func eventsUnknownJob(t *testing.T, ns NewStore) {
	s := ns(t)
	_, err := s.AppendEvent(t.Context(), uuid.NewString(), job.Event{Type: "x"})
	wantErr(t, "AppendEvent(unknown job)", err, job.ErrNotFound)
	_, err = s.ListEvents(t.Context(), uuid.NewString(), 0, 0)
	wantErr(t, "ListEvents(unknown job)", err, job.ErrNotFound)
}

func eventsNone(t *testing.T, ns NewStore) {
	s := ns(t)
	j := create(t, s, newJob())
	appendEvent(t, s, j.ID, "a")
	for _, after := range []int64{0, 1, 99} {
		events, err := s.ListEvents(t.Context(), j.ID, after, 0)
		if err != nil || len(events) != map[int64]int{0: 1, 1: 0, 99: 0}[after] {
			t.Errorf("ListEvents(after %d) = %v, %v", after, events, err)
		}
	}
}

func eventsInvalid(t *testing.T, ns NewStore) {
	s := ns(t)
	j := create(t, s, newJob())
	_, err := s.AppendEvent(t.Context(), j.ID, job.Event{})
	wantErr(t, "AppendEvent(no type)", err, job.ErrInvalid)
	_, err = s.AppendEvent(t.Context(), j.ID, job.Event{Type: "x", Data: json.RawMessage(`nope`)})
	wantErr(t, "AppendEvent(bad data)", err, job.ErrInvalid)
	if e := appendEvent(t, s, j.ID, "ok"); e.Seq != 1 {
		t.Errorf("seq after rejected events = %d, want 1 (no gap)", e.Seq)
	}
}

// eventsConcurrent mixes AppendEvent and UpdateJobWithEvent from many
// goroutines: the job's events must be numbered 1..n exactly once each.
func eventsConcurrent(t *testing.T, ns NewStore) {
	s := ns(t)
	j := create(t, s, newJob())
	const writers, each = 6, 8
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		seqs  = map[int64]int{}
		start = make(chan struct{})
	)
	for w := range writers {
		wg.Go(func() {
			<-start
			for i := range each {
				var seq int64
				if (w+i)%2 == 0 {
					e, err := s.AppendEvent(context.Background(), j.ID, job.Event{Type: "append"})
					if err != nil {
						t.Error(err)
						return
					}
					seq = e.Seq
				} else {
					_, e, err := s.UpdateJobWithEvent(context.Background(), j.ID, func(j *job.Job) (*job.Event, error) {
						j.Progress.NodesDone++
						return &job.Event{Type: "update"}, nil
					})
					if err != nil {
						t.Error(err)
						return
					}
					seq = e.Seq
				}
				mu.Lock()
				seqs[seq]++
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	const n = writers * each
	events, err := s.ListEvents(t.Context(), j.ID, 0, 0)
	if err != nil || len(events) != n {
		t.Fatalf("ListEvents: %d events, %v; want %d", len(events), err, n)
	}
	for i, e := range events {
		if e.Seq != int64(i+1) || seqs[e.Seq] != 1 {
			t.Errorf("event %d has seq %d (returned %d times)", i, e.Seq, seqs[e.Seq])
		}
	}
	if got := get(t, s, j.ID).EventSeq; got != n {
		t.Errorf("EventSeq = %d, want %d", got, n)
	}
}

func eventsLimit(t *testing.T, ns NewStore) {
	s := ns(t)
	j := create(t, s, newJob())
	for i := range 7 {
		appendEvent(t, s, j.ID, name("e", i))
	}
	tests := []struct {
		after       int64
		limit       int
		first, last int64
	}{{0, 3, 1, 3}, {3, 3, 4, 6}, {6, 3, 7, 7}, {2, 0, 3, 7}, {2, -1, 3, 7}}
	for _, tt := range tests {
		got, err := s.ListEvents(t.Context(), j.ID, tt.after, tt.limit)
		if err != nil || len(got) == 0 || got[0].Seq != tt.first || got[len(got)-1].Seq != tt.last {
			t.Errorf("ListEvents(after %d, limit %d) = %v, %v; want seqs %d..%d", tt.after, tt.limit, got, err, tt.first, tt.last)
		}
	}
}
