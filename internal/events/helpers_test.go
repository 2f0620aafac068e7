package events

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitLimit bounds every wait in these tests; it only matters when a test is
// about to fail, so it is generous.
const waitLimit = 10 * time.Second

func newTestHub(tb testing.TB, opts Options) *Hub {
	tb.Helper()
	h := NewHub(opts)
	tb.Cleanup(h.Close)
	return h
}

func durable(job string, seq int64, typ string) Event {
	return Event{JobID: job, Owner: "alice", Seq: seq, Type: typ, Data: json.RawMessage(`{}`)}
}

func ephemeral(job, typ string) Event {
	return Event{JobID: job, Owner: "alice", Type: typ, Data: json.RawMessage(`{"value":1}`)}
}

func subscribe(tb testing.TB, h *Hub, job string, after ID) *Subscription {
	tb.Helper()
	s, err := h.Subscribe(context.Background(), job, after)
	if err != nil {
		tb.Fatalf("Subscribe(%s, %s): %v", job, after, err)
	}
	tb.Cleanup(s.Close)
	return s
}

// recv reads n events, failing the test if they do not come.
func recv(tb testing.TB, s *Subscription, n int) []Event {
	tb.Helper()
	timer := time.NewTimer(waitLimit)
	defer timer.Stop()
	var got []Event
	for len(got) < n {
		select {
		case e, ok := <-s.C():
			if !ok {
				tb.Fatalf("subscription closed after %d of %d events (err %v)", len(got), n, s.Err())
			}
			got = append(got, e)
		case <-timer.C:
			tb.Fatalf("timed out after %d of %d events", len(got), n)
		}
	}
	return got
}

// drain reads until the subscription closes.
func drain(tb testing.TB, s *Subscription) []Event {
	tb.Helper()
	timer := time.NewTimer(waitLimit)
	defer timer.Stop()
	var got []Event
	for {
		select {
		case e, ok := <-s.C():
			if !ok {
				return got
			}
			got = append(got, e)
		case <-timer.C:
			tb.Fatalf("subscription still open after %d events", len(got))
		}
	}
}

// ids renders events' IDs, for compact comparisons.
func ids(events []Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.ID().String()
	}
	return out
}

// fakeReplayer is a hand-written Replayer.
type fakeReplayer struct {
	ListEventsFunc func(ctx context.Context, jobID string, afterSeq int64, limit int) ([]Event, error)
}

func (f *fakeReplayer) ListEvents(ctx context.Context, jobID string, afterSeq int64, limit int) ([]Event, error) {
	return f.ListEventsFunc(ctx, jobID, afterSeq, limit)
}

// memStore stands in for the job store: it assigns durable sequence numbers
// and serves them back.
type memStore struct {
	mu     sync.Mutex // guards the fields below
	events map[string][]Event
	calls  int
}

func newMemStore() *memStore { return &memStore{events: make(map[string][]Event)} }

// append stores e with the job's next seq and returns it.
func (m *memStore) append(e Event) Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	e.Seq, e.Sub = int64(len(m.events[e.JobID])+1), 0
	m.events[e.JobID] = append(m.events[e.JobID], e)
	return e
}

func (m *memStore) ListEvents(ctx context.Context, jobID string, afterSeq int64, limit int) ([]Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	all := m.events[jobID]
	if afterSeq >= int64(len(all)) {
		return nil, ctx.Err()
	}
	page := all[afterSeq:min(int64(len(all)), afterSeq+int64(limit))]
	return append([]Event(nil), page...), ctx.Err()
}

func (m *memStore) replayer() *fakeReplayer {
	return &fakeReplayer{ListEventsFunc: m.ListEvents}
}

func (m *memStore) callCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls
}
