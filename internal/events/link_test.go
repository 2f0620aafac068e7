package events

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeTransport is a hand-written Transport.
type fakeTransport struct {
	SendFunc func(topic string, body []byte, droppable bool) bool
}

func (f *fakeTransport) Send(topic string, body []byte, droppable bool) bool {
	return f.SendFunc(topic, body, droppable)
}

// wire carries what one replica's link sends to another's, in order.
type wire struct {
	mu        sync.Mutex
	sent      [][]byte
	droppable []bool
}

func (w *wire) transport() *fakeTransport {
	return &fakeTransport{SendFunc: func(topic string, body []byte, droppable bool) bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		if topic != "ev" {
			panic("unexpected topic " + topic)
		}
		w.sent = append(w.sent, body)
		w.droppable = append(w.droppable, droppable)
		return true
	}}
}

// take returns and forgets what was sent.
func (w *wire) take() ([][]byte, []bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s, d := w.sent, w.droppable
	w.sent, w.droppable = nil, nil
	return s, d
}

// linkedHub is a hub forwarding through a link over w.
func linkedHub(t *testing.T, w *wire, opts Options) (*Hub, *Link) {
	t.Helper()
	l := NewLink(w.transport(), "ev")
	opts.Forward = l
	h := newTestHub(t, opts)
	l.Bind(h)
	return h, l
}

// TestLinkCarriesEvents: what one replica publishes reaches a subscriber
// of the same job on another, durable events not droppable, ephemeral
// ones droppable; events delivered from elsewhere are not sent back.
func TestLinkCarriesEvents(t *testing.T) {
	t.Parallel()
	store := newMemStore()
	var wa, wb wire
	a, la := linkedHub(t, &wa, Options{Replayer: store.replayer()})
	b, lb := linkedHub(t, &wb, Options{Replayer: store.replayer()})

	a.Publish(store.append(durable("j1", 0, "queued")))
	first, _ := wa.take()
	lb.Receive(first[0])
	s := subscribe(t, b, "j1", ID{}) // live at once: b knows the job
	a.Publish(ephemeral("j1", "progress"))
	a.Publish(store.append(durable("j1", 0, "succeeded")))
	sent, droppable := wa.take()
	if diff := cmp.Diff([]bool{true, false}, droppable); diff != "" {
		t.Errorf("droppable (-want +got):\n%s", diff)
	}
	for _, body := range sent {
		lb.Receive(body)
	}
	got := drain(t, s)
	if diff := cmp.Diff([]string{"1", "1.1", "2"}, ids(got)); diff != "" {
		t.Errorf("ids on the other replica (-want +got):\n%s", diff)
	}
	if again, _ := wb.take(); len(again) != 0 {
		t.Errorf("the receiving replica sent %d delivered events back", len(again))
	}
	if st := lb.Stats(); st.Received != 3 || st.Forwarded != 0 {
		t.Errorf("receiver stats = %+v", st)
	}
	if st := la.Stats(); st.Forwarded != 3 {
		t.Errorf("sender stats = %+v", st)
	}
	lb.Receive([]byte("garbage"))
	if st := lb.Stats(); st.Dropped != 1 {
		t.Errorf("an unreadable message was not counted as dropped: %+v", st)
	}
}

// TestDeliverDropsUnwatchedEphemeral: progress and previews of a job
// nobody here watches are not kept (no resume ever asks for them), while
// durable events are.
func TestDeliverDropsUnwatchedEphemeral(t *testing.T) {
	t.Parallel()
	h := newTestHub(t, Options{})
	preview := ephemeral("j1", "preview")
	preview.Seq, preview.Sub = 1, 1
	h.Deliver(preview)
	if st := h.Stats(); st.Jobs != 0 {
		t.Fatalf("an unwatched preview was kept: %+v", st)
	}
	h.Deliver(durable("j1", 1, "queued"))
	if st := h.Stats(); st.Jobs != 1 {
		t.Fatalf("a durable event was not kept: %+v", st)
	}
	all, err := h.SubscribeAll(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	defer all.Close()
	h.Deliver(preview)
	select {
	case e := <-all.C():
		if e.Type != "preview" || !e.Relayed {
			t.Errorf("owner stream got %s (relayed %v), want the relayed preview", e.Type, e.Relayed)
		}
	case <-time.After(waitLimit):
		t.Fatal("an owner stream did not get an ephemeral event meant for it")
	}
	h.Publish(ephemeral("j1", "progress"))
	select {
	case e := <-all.C():
		if e.Relayed {
			t.Errorf("an event published here is marked relayed: %+v", e)
		}
	case <-time.After(waitLimit):
		t.Fatal("an owner stream did not get an event published here")
	}
}

// TestResyncHeals: after events from other replicas may have been lost,
// a live subscription gets what it missed from the store, and streams of
// many jobs end with ErrGap.
func TestResyncHeals(t *testing.T) {
	t.Parallel()
	store := newMemStore()
	h := newTestHub(t, Options{Replayer: store.replayer()})
	s := subscribe(t, h, "j1", ID{})
	h.Deliver(store.append(durable("j1", 0, "queued")))
	recv(t, s, 1)
	all, err := h.SubscribeAll(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	store.append(durable("j1", 0, "output"))    // lost
	store.append(durable("j1", 0, "succeeded")) // lost
	h.Resync()
	got := drain(t, s)
	if s.Err() != nil || len(got) != 2 || got[1].Type != "succeeded" {
		t.Errorf("after Resync: %v, err %v", ids(got), s.Err())
	}
	drainAll(t, all)
	if !errors.Is(all.Err(), ErrGap) {
		t.Errorf("owner stream Err() = %v, want ErrGap", all.Err())
	}
	late := subscribe(t, h, "j1", ID{Seq: 1})
	if got := drain(t, late); len(got) != 2 {
		t.Errorf("a later subscription after Resync got %v, want the store's events 2 and 3", ids(got))
	}
}

func drainAll(t *testing.T, s *Subscription) {
	t.Helper()
	timer := time.NewTimer(waitLimit)
	defer timer.Stop()
	for {
		select {
		case _, ok := <-s.C():
			if !ok {
				return
			}
		case <-timer.C:
			t.Fatal("stream still open")
		}
	}
}

// TestDeliverOutOfOrder: a job's durable events come from the replicas
// that produced them over separate connections, so they arrive out of
// order, late, twice or never; subscribers still see each one exactly
// once, in order, filled in from the store.
func TestDeliverOutOfOrder(t *testing.T) {
	t.Parallel()
	const rounds, n, subscribers = 30, 12, 4
	for round := range rounds {
		rng := rand.New(rand.NewPCG(uint64(round), 7))
		store := newMemStore()
		h := newTestHub(t, Options{RingSize: 4, ReplayPageSize: 3, Replayer: store.replayer()})
		var subs []*Subscription
		var arrivals []Event
		for i := range n {
			e := store.append(durable("j", 0, "step"))
			if i == n-1 {
				e = store.append(durable("j", 0, "succeeded"))
			}
			if rng.IntN(5) > 0 { // some never arrive
				arrivals = append(arrivals, e)
			}
			if rng.IntN(3) == 0 { // some arrive twice
				arrivals = append(arrivals, e)
			}
		}
		for i := range arrivals { // local reorderings
			if j := i + rng.IntN(3); j < len(arrivals) {
				arrivals[i], arrivals[j] = arrivals[j], arrivals[i]
			}
		}
		for i, e := range arrivals {
			if i%(len(arrivals)/subscribers+1) == 0 {
				subs = append(subs, subscribe(t, h, "j", ID{}))
			}
			h.Deliver(e)
		}
		h.Deliver(store.events["j"][n]) // the end arrives at last
		for k, s := range subs {
			got := drain(t, s)
			want := make([]string, n+1)
			for i := range want {
				want[i] = ID{Seq: int64(i + 1)}.String()
			}
			if diff := cmp.Diff(want, ids(got)); diff != "" || s.Err() != nil {
				t.Fatalf("round %d, subscriber %d (err %v) (-want +got):\n%s", round, k, s.Err(), diff)
			}
		}
	}
}

// TestLinkSendsEphemeralOnlyWhenWanted: with a gate, progress and
// previews leave only while another replica watches; durable events
// always do. Watchers counts what such a gate reads.
func TestLinkSendsEphemeralOnlyWhenWanted(t *testing.T) {
	t.Parallel()
	var w wire
	h, l := linkedHub(t, &w, Options{})
	var watched atomic.Bool
	l.SendEphemeralWhen(watched.Load)
	h.Publish(durable("j1", 1, "queued"))
	h.Publish(ephemeral("j1", "progress"))
	watched.Store(true)
	h.Publish(ephemeral("j1", "progress"))
	_, droppable := w.take()
	if diff := cmp.Diff([]bool{false, true}, droppable); diff != "" {
		t.Errorf("sent (droppable flags) (-want +got):\n%s", diff)
	}
	if st := l.Stats(); st.Skipped != 1 || st.Forwarded != 2 {
		t.Errorf("stats %+v, want 1 skipped, 2 forwarded", st)
	}

	if h.Watchers() != 0 {
		t.Fatalf("Watchers = %d before any subscription", h.Watchers())
	}
	s := subscribe(t, h, "j1", ID{})
	all, err := h.SubscribeAll(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	fn, err := h.SubscribeFunc(context.Background(), func(Event) bool { return false })
	if err != nil {
		t.Fatal(err)
	}
	if h.Watchers() != 2 {
		t.Errorf("Watchers = %d with a job subscription, an owner stream and a filter stream; want 2", h.Watchers())
	}
	s.Close()
	all.Close()
	fn.Close()
	if h.Watchers() != 0 {
		t.Errorf("Watchers = %d after they all closed", h.Watchers())
	}
}
