package events

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// publishStored stores n durable events (and one ephemeral after each) and
// publishes them, store first, as the job runner does.
func publishStored(h *Hub, st *memStore, job string, n int) {
	for range n {
		h.Publish(st.append(durable(job, 0, "output")))
		h.Publish(ephemeral(job, "progress"))
	}
}

func TestReplayFromReplayer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		after     ID
		want      []string
		wantCalls int
	}{
		{"from the start", ID{}, []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "9.1", "10", "10.1"}, 3},
		{"from the middle", ID{Seq: 5, Sub: 1}, []string{"6", "7", "8", "9", "9.1", "10", "10.1"}, 1},
		{"ring covers", ID{Seq: 8, Sub: 1}, []string{"9", "9.1", "10", "10.1"}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := newMemStore()
			h := newTestHub(t, Options{RingSize: 4, ReplayPageSize: 3, Replayer: store.replayer()})
			publishStored(h, store, "j1", 10) // ring keeps 9, 9.1, 10, 10.1
			before := store.callCount()
			s := subscribe(t, h, "j1", tc.after)
			got := recv(t, s, len(tc.want))
			if diff := cmp.Diff(tc.want, ids(got)); diff != "" {
				t.Errorf("ids mismatch (-want +got):\n%s", diff)
			}
			if calls := store.callCount() - before; calls != tc.wantCalls {
				t.Errorf("ListEvents called %d times, want %d", calls, tc.wantCalls)
			}
			h.Publish(ephemeral("j1", "probe")) // live events follow the replay
			if e := recv(t, s, 1)[0]; e.Type != "probe" {
				t.Errorf("after replay got %s %q, want the live probe", e.ID(), e.Type)
			}
		})
	}
}

func TestReplayWithoutReplayer(t *testing.T) {
	t.Parallel()
	store := newMemStore()
	h := newTestHub(t, Options{RingSize: 4})
	publishStored(h, store, "j1", 10)
	_, err := h.Subscribe(context.Background(), "j1", ID{Seq: 2})
	if !errors.Is(err, ErrReplayUnavailable) {
		t.Fatalf("Subscribe too far back: err = %v, want ErrReplayUnavailable", err)
	}
}

// A hub that knows nothing of a job (it restarted, or evicted the job) asks
// the store for everything, including whether the job is over.
func TestReplayUnknownJob(t *testing.T) {
	t.Parallel()
	store := newMemStore()
	for _, typ := range []string{"queued", "started", "succeeded"} {
		store.append(durable("j1", 0, typ))
	}
	h := newTestHub(t, Options{Replayer: store.replayer()})
	tests := []struct {
		name  string
		after ID
		want  []string
	}{
		{"all", ID{}, []string{"1", "2", "3"}},
		{"rest", ID{Seq: 1}, []string{"2", "3"}},
		{"seen the end", ID{Seq: 3}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := subscribe(t, h, "j1", tc.after)
			if diff := cmp.Diff(tc.want, ids(drain(t, s)), cmpEmpty); diff != "" {
				t.Errorf("ids mismatch (-want +got):\n%s", diff)
			}
			if s.Err() != nil {
				t.Errorf("Err() = %v, want nil (terminal)", s.Err())
			}
		})
	}
}

func TestReplayError(t *testing.T) {
	t.Parallel()
	boom := errors.New("disk on fire")
	h := newTestHub(t, Options{Replayer: &fakeReplayer{
		ListEventsFunc: func(context.Context, string, int64, int) ([]Event, error) { return nil, boom },
	}})
	s := subscribe(t, h, "j1", ID{})
	drain(t, s)
	if !errors.Is(s.Err(), boom) {
		t.Errorf("Err() = %v, want it to wrap %v", s.Err(), boom)
	}
}

func TestReplayerWithoutProgress(t *testing.T) {
	t.Parallel()
	h := newTestHub(t, Options{ReplayPageSize: 2, Replayer: &fakeReplayer{
		ListEventsFunc: func(context.Context, string, int64, int) ([]Event, error) {
			return []Event{durable("j1", 0, "bad"), durable("j1", 0, "bad")}, nil
		},
	}})
	s := subscribe(t, h, "j1", ID{})
	if got := drain(t, s); len(got) != 0 || s.Err() == nil {
		t.Errorf("got %v, err %v; want no events and an error", ids(got), s.Err())
	}
}

// blockingReplayer blocks every ListEvents until ctx ends, telling started.
func blockingReplayer(started chan<- struct{}) *fakeReplayer {
	return &fakeReplayer{ListEventsFunc: func(ctx context.Context, _ string, _ int64, _ int) ([]Event, error) {
		started <- struct{}{}
		<-ctx.Done()
		return nil, ctx.Err()
	}}
}

func TestCancelDuringReplay(t *testing.T) {
	t.Parallel()
	started := make(chan struct{}, 1)
	h := newTestHub(t, Options{Replayer: blockingReplayer(started)})
	ctx, cancel := context.WithCancel(context.Background())
	s, err := h.Subscribe(ctx, "j1", ID{})
	if err != nil {
		t.Fatal(err)
	}
	<-started
	cancel()
	drain(t, s)
	if !errors.Is(s.Err(), context.Canceled) {
		t.Errorf("Err() = %v, want context.Canceled", s.Err())
	}
	s.Close()
}

func TestCloseDuringReplay(t *testing.T) {
	t.Parallel()
	started := make(chan struct{}, 1)
	h := newTestHub(t, Options{Replayer: blockingReplayer(started)})
	s := subscribe(t, h, "j1", ID{})
	<-started
	s.Close() // returns only once the replay goroutine is gone (goleak checks)
	if _, ok := <-s.C(); ok {
		t.Fatal("C() open after Close")
	}
}

// TestGapHeals: a durable event that arrives after a gap (the one before
// it was lost on its way here) makes subscriptions read the missing one
// from the store, with no gap and no duplicate; a subscription still
// replaying reads the store again before going live. Without a Replayer
// they end with ErrGap and their clients resume.
func TestGapHeals(t *testing.T) {
	t.Parallel()
	store := newMemStore()
	h := newTestHub(t, Options{Replayer: store.replayer()})
	s := subscribe(t, h, "j1", ID{})
	h.Publish(store.append(durable("j1", 0, "queued")))
	recv(t, s, 1)
	store.append(durable("j1", 0, "started")) // lost on its way to this hub
	h.Publish(store.append(durable("j1", 0, "output")))
	h.Publish(store.append(durable("j1", 0, "succeeded")))
	got := drain(t, s)
	if s.Err() != nil {
		t.Fatalf("Err() = %v, want a clean end", s.Err())
	}
	if diff := cmp.Diff([]string{"2", "3", "4"}, ids(got)); diff != "" {
		t.Errorf("ids after the gap (-want +got):\n%s", diff)
	}
}

func TestGapHealsReplaying(t *testing.T) {
	t.Parallel()
	store := newMemStore()
	release := make(chan struct{})
	gate := &gatedReplayer{inner: store.replayer(), release: release, entered: make(chan struct{}, 1)}
	h := newTestHub(t, Options{Replayer: gate})
	store.append(durable("j1", 0, "queued")) // the hub never saw it: Subscribe replays
	s := subscribe(t, h, "j1", ID{})
	<-gate.entered                                      // the replay read the store (event 1) and waits
	store.append(durable("j1", 0, "started"))           // lost
	h.Publish(store.append(durable("j1", 0, "output"))) // the hub sees 3 first: known from here
	h.Publish(store.append(durable("j1", 0, "succeeded")))
	close(release)
	got := drain(t, s)
	if s.Err() != nil {
		t.Fatalf("Err() = %v, want a clean end", s.Err())
	}
	if diff := cmp.Diff([]string{"1", "2", "3", "4"}, ids(got)); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}
}

func TestGapWithoutReplayerEnds(t *testing.T) {
	t.Parallel()
	h := newTestHub(t, Options{})
	h.Publish(durable("j1", 1, "queued"))
	s := subscribe(t, h, "j1", ID{})
	h.Publish(durable("j1", 3, "output"))
	drain(t, s)
	if !errors.Is(s.Err(), ErrGap) {
		t.Fatalf("Err() = %v, want ErrGap", s.Err())
	}
}

// gatedReplayer holds each store read after the first until release is
// closed, telling entered when it holds one.
type gatedReplayer struct {
	inner   Replayer
	release chan struct{}
	entered chan struct{}
	calls   atomic.Int32
}

func (g *gatedReplayer) ListEvents(ctx context.Context, jobID string, afterSeq int64, limit int) ([]Event, error) {
	page, err := g.inner.ListEvents(ctx, jobID, afterSeq, limit)
	if g.calls.Add(1) == 1 {
		g.entered <- struct{}{}
		select {
		case <-g.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return page, err
}

// TestHandOverNoGapNoDup races subscribers (joining at random points, some
// resuming from random IDs, all resubscribing when dropped) against a
// publisher, and checks every subscriber sees each durable event exactly
// once and every ID in increasing order.
func TestHandOverNoGapNoDup(t *testing.T) {
	t.Parallel()
	const iterations, events, subscribers = 40, 120, 6
	for i := range iterations {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			store := newMemStore()
			h := newTestHub(t, Options{RingSize: 8, SubscriberBuffer: 4, ReplayPageSize: 5, Replayer: store.replayer()})
			job := "job"
			if i%2 == 1 { // half the runs: a hub that missed the job's beginning
				for range 10 {
					store.append(durable(job, 0, "output"))
				}
			}
			var wg sync.WaitGroup
			for range subscribers {
				after := ID{}
				if rand.IntN(3) == 0 {
					after = ID{Seq: rand.Int64N(20)}
				}
				wg.Go(func() { checkStream(t, h, job, after) })
			}
			for range events {
				e := store.append(durable(job, 0, "output"))
				runtime.Gosched() // widen the stored-but-not-yet-published window
				h.Publish(e)
				for range rand.IntN(3) {
					h.Publish(ephemeral(job, "progress"))
				}
			}
			h.Publish(store.append(durable(job, 0, "succeeded")))
			wg.Wait()
		})
	}
}

// checkStream follows a job to its end like a reconnecting client does.
func checkStream(tb testing.TB, h *Hub, job string, after ID) {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	var got []Event
	last := after
	for {
		s, err := h.Subscribe(ctx, job, last)
		if err != nil {
			tb.Errorf("Subscribe after %s: %v", last, err)
			return
		}
		for e := range s.C() {
			if !last.Less(e.ID()) {
				tb.Errorf("event %s after %s: out of order or duplicate", e.ID(), last)
			}
			last = e.ID()
			got = append(got, e)
		}
		err = s.Err()
		s.Close()
		if err == nil {
			break
		}
		if !errors.Is(err, ErrSlowSubscriber) {
			tb.Errorf("subscription ended with %v", err)
			return
		}
	}
	var seqs []int64
	for _, e := range got {
		if e.Durable() {
			seqs = append(seqs, e.Seq)
		}
	}
	if len(seqs) == 0 || seqs[0] != after.Seq+1 || got[len(got)-1].Type != "succeeded" {
		tb.Errorf("from %s got %v: want durable events from %d to the terminal one", after, ids(got), after.Seq+1)
		return
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] != seqs[i-1]+1 {
			tb.Errorf("from %s: durable seq %d follows %d (gap or duplicate)", after, seqs[i], seqs[i-1])
			return
		}
	}
}
