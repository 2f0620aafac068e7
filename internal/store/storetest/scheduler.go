package storetest

import (
	"testing"

	"github.com/google/uuid"

	"github.com/comfygate/comfygate/internal/job"
)

var schedulerTests = map[string]func(*testing.T, NewStore){
	"DispatchOrder":      dispatchOrder,
	"DispatchOrderLimit": dispatchOrderLimit,
	"ActiveJobs":         activeJobs,
	"QueuePosition":      queuePosition,
	"QueueKeys":          queueKeys,
	"CountByState":       countByState,
}

func withPriority(p int) func(*job.Job) { return func(j *job.Job) { j.Priority = p } }

// queueFixture creates jobs with priorities, moving some out of the queue:
// the dispatch order of what remains is p5a, p5b(retrying), p0a, p0c, n1.
type queueFixture struct {
	p0a, p5a, p0b, n1, p5b, p0c, run, done *job.Job
}

func newQueueFixture(tb testing.TB, s job.Store) queueFixture {
	tb.Helper()
	var f queueFixture
	f.p0a = create(tb, s, newJob())
	f.p5a = create(tb, s, newJob(withPriority(5)))
	f.p0b = create(tb, s, newJob())
	f.n1 = create(tb, s, newJob(withPriority(-1)))
	f.p5b = create(tb, s, newJob(withPriority(5)))
	f.p0c = create(tb, s, newJob())
	f.run = create(tb, s, newJob(withPriority(9)))
	f.done = create(tb, s, newJob(withPriority(9)))
	setState(tb, s, f.p0b.ID, job.StateDispatched)
	setState(tb, s, f.p5b.ID, job.StateRetrying)
	setState(tb, s, f.run.ID, job.StateRunning)
	setState(tb, s, f.done.ID, job.StateSucceeded)
	return f
}

func (f queueFixture) order() []string { return ids([]*job.Job{f.p5a, f.p5b, f.p0a, f.p0c, f.n1}) }

func dispatchOrder(t *testing.T, ns NewStore) {
	s := ns(t)
	f := newQueueFixture(t, s)
	got, err := s.DispatchOrder(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "dispatch order", f.order(), ids(got))
	diff(t, "job in dispatch order equals GetJob", get(t, s, f.p5b.ID), got[1])
}

func dispatchOrderLimit(t *testing.T, ns NewStore) {
	s := ns(t)
	f := newQueueFixture(t, s)
	got, err := s.DispatchOrder(t.Context(), 2)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "first two", f.order()[:2], ids(got))
	empty, err := ns(t).DispatchOrder(t.Context(), 10)
	if err != nil || len(empty) != 0 {
		t.Errorf("DispatchOrder on an empty store = %v, %v", empty, err)
	}
}

func activeJobs(t *testing.T, ns NewStore) {
	s := ns(t)
	f := newQueueFixture(t, s)
	got, err := s.ActiveJobs(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "active jobs", ids([]*job.Job{f.p0b, f.run}), ids(got))
	diff(t, "active job equals GetJob", get(t, s, f.run.ID), got[1])
}

func queuePosition(t *testing.T, ns NewStore) {
	s := ns(t)
	f := newQueueFixture(t, s)
	for want, id := range f.order() {
		got, err := s.QueuePosition(t.Context(), id)
		if err != nil || got != want {
			t.Errorf("QueuePosition(%s) = %d, %v; want %d", id, got, err, want)
		}
	}
	for _, id := range []string{f.p0b.ID, f.run.ID, f.done.ID} {
		_, err := s.QueuePosition(t.Context(), id)
		wantErr(t, "QueuePosition(not queued)", err, job.ErrConflict)
	}
	_, err := s.QueuePosition(t.Context(), uuid.NewString())
	wantErr(t, "QueuePosition(unknown)", err, job.ErrNotFound)

	// Dispatching the head moves everyone up.
	setState(t, s, f.p5a.ID, job.StateDispatched)
	if got, err := s.QueuePosition(t.Context(), f.n1.ID); err != nil || got != 3 {
		t.Errorf("QueuePosition(last) after a dispatch = %d, %v; want 3", got, err)
	}
}

func queueKeys(t *testing.T, ns NewStore) {
	s := ns(t)
	f := newQueueFixture(t, s)
	var want []job.QueueKey
	for _, id := range f.order() {
		j := get(t, s, id)
		want = append(want, job.QueueKey{Priority: j.Priority, Seq: j.Seq})
	}
	got, err := s.QueueKeys(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "queue keys", want, got)
	for i := 1; i < len(got); i++ {
		if !got[i-1].Before(got[i]) {
			t.Errorf("key %d %+v is not Before key %d %+v", i-1, got[i-1], i, got[i])
		}
	}
	if got, err := s.QueueKeys(t.Context(), 2); err != nil || len(got) != 2 || got[1] != want[1] {
		t.Errorf("QueueKeys(limit 2) = %+v, %v; want %+v", got, err, want[:2])
	}
	if empty, err := ns(t).QueueKeys(t.Context(), 0); err != nil || len(empty) != 0 {
		t.Errorf("QueueKeys on an empty store = %v, %v", empty, err)
	}
}

func countByState(t *testing.T, ns NewStore) {
	s := ns(t)
	newQueueFixture(t, s)
	got, err := s.CountByState(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := map[job.State]int{job.StateQueued: 4, job.StateRetrying: 1, job.StateDispatched: 1,
		job.StateRunning: 1, job.StateSucceeded: 1}
	diff(t, "counts", want, got)
	empty, err := ns(t).CountByState(t.Context())
	if err != nil || len(empty) != 0 {
		t.Errorf("CountByState on an empty store = %v, %v", empty, err)
	}
}
