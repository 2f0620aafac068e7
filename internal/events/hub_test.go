package events

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPublishStampsAndOrders(t *testing.T) {
	t.Parallel()
	h := newTestHub(t, Options{})
	s := subscribe(t, h, "j1", ID{})
	for _, e := range []Event{
		ephemeral("j1", "position"),
		durable("j1", 1, "queued"),
		ephemeral("j1", "position"),
		ephemeral("j1", "position"),
		durable("j1", 2, "started"),
		ephemeral("j1", "progress"),
	} {
		h.Publish(e)
	}
	got := recv(t, s, 6)
	want := []string{"0.1", "1", "1.1", "1.2", "2", "2.1"}
	if diff := cmp.Diff(want, ids(got)); diff != "" {
		t.Errorf("ids mismatch (-want +got):\n%s", diff)
	}
	for _, e := range got {
		if e.Time.IsZero() || e.JobID != "j1" || e.Owner != "alice" {
			t.Errorf("event %s = %+v: want JobID, Owner and Time set", e.ID(), e)
		}
	}
}

func TestPublishEphemeralSeqHint(t *testing.T) {
	t.Parallel()
	h := newTestHub(t, Options{})
	s := subscribe(t, h, "j1", ID{})
	hinted := ephemeral("j1", "progress")
	hinted.Seq, hinted.Sub = 7, 1 // the runner knows seq 7 is stored; this fresh hub does not
	h.Publish(hinted)
	h.Publish(ephemeral("j1", "progress"))
	h.Publish(durable("j1", 8, "output"))
	if diff := cmp.Diff([]string{"7.1", "7.2", "8"}, ids(recv(t, s, 3))); diff != "" {
		t.Errorf("ids mismatch (-want +got):\n%s", diff)
	}
}

func TestPublishDropsDuplicateDurable(t *testing.T) {
	t.Parallel()
	h := newTestHub(t, Options{})
	s := subscribe(t, h, "j1", ID{})
	h.Publish(durable("j1", 1, "queued"))
	h.Publish(durable("j1", 1, "queued"))
	h.Publish(durable("j1", 2, "started"))
	if diff := cmp.Diff([]string{"1", "2"}, ids(recv(t, s, 2))); diff != "" {
		t.Errorf("ids mismatch (-want +got):\n%s", diff)
	}
	select {
	case e := <-s.C():
		t.Errorf("unexpected extra event %s", e.ID())
	default:
	}
}

func TestPublishIgnoresMalformed(t *testing.T) {
	t.Parallel()
	h := newTestHub(t, Options{})
	h.Publish(Event{Seq: 1, Type: "queued"})               // no job
	h.Publish(Event{JobID: "j1", Seq: -1, Type: "queued"}) // negative seq
	if got := h.Stats().Jobs; got != 0 {
		t.Errorf("Stats().Jobs = %d, want 0", got)
	}
}

func TestReplayFromRing(t *testing.T) {
	t.Parallel()
	h := newTestHub(t, Options{})
	h.Publish(durable("j1", 1, "queued"))
	h.Publish(ephemeral("j1", "position"))
	h.Publish(durable("j1", 2, "started"))
	h.Publish(ephemeral("j1", "progress"))
	h.Publish(ephemeral("j1", "progress"))
	tests := []struct {
		name  string
		after ID
		want  []string
	}{
		{"from the start", ID{}, []string{"1", "1.1", "2", "2.1", "2.2"}},
		{"after durable", ID{Seq: 1}, []string{"1.1", "2", "2.1", "2.2"}},
		{"after ephemeral", ID{Seq: 2, Sub: 1}, []string{"2.2"}},
		{"up to date", ID{Seq: 2, Sub: 2}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := subscribe(t, h, "j1", tc.after)
			got := recv(t, s, len(tc.want))
			if diff := cmp.Diff(tc.want, ids(got), cmpEmpty); diff != "" {
				t.Errorf("ids mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLiveFollowsReplayLargerThanBuffer(t *testing.T) {
	t.Parallel()
	h := newTestHub(t, Options{SubscriberBuffer: 4, RingSize: 64})
	for seq := int64(1); seq <= 20; seq++ {
		h.Publish(durable("j1", seq, "output"))
	}
	s := subscribe(t, h, "j1", ID{Seq: 2})
	var got []Event
	got = append(got, recv(t, s, 3)...)
	h.Publish(durable("j1", 21, "output"))
	got = append(got, recv(t, s, 16)...)
	if got[0].Seq != 3 || got[len(got)-1].Seq != 21 {
		t.Fatalf("got %v, want 3..21", ids(got))
	}
	for i := 1; i < len(got); i++ {
		if got[i].Seq != got[i-1].Seq+1 {
			t.Fatalf("got %v: not contiguous at %d", ids(got), i)
		}
	}
}

func TestSlowSubscriberDropped(t *testing.T) {
	t.Parallel()
	h := newTestHub(t, Options{SubscriberBuffer: 4})
	slow := subscribe(t, h, "j1", ID{})
	fast := subscribe(t, h, "j1", ID{})
	var got []Event
	for seq := int64(1); seq <= 10; seq++ {
		h.Publish(durable("j1", seq, "output"))
		got = append(got, recv(t, fast, 1)...) // keep up, so only slow lags
	}
	if got[9].Seq != 10 || fast.Err() != nil {
		t.Fatalf("fast subscriber got %v (err %v), want 1..10", ids(got), fast.Err())
	}
	buffered := drain(t, slow)
	if !errors.Is(slow.Err(), ErrSlowSubscriber) {
		t.Fatalf("slow.Err() = %v, want ErrSlowSubscriber", slow.Err())
	}
	if diff := cmp.Diff([]string{"1", "2", "3", "4"}, ids(buffered)); diff != "" {
		t.Errorf("slow subscriber's buffered events mismatch (-want +got):\n%s", diff)
	}
	resumed := subscribe(t, h, "j1", buffered[len(buffered)-1].ID())
	if diff := cmp.Diff([]string{"5", "6", "7", "8", "9", "10"}, ids(recv(t, resumed, 6))); diff != "" {
		t.Errorf("resumed events mismatch (-want +got):\n%s", diff)
	}
	if got := h.Stats().Dropped; got != 1 {
		t.Errorf("Stats().Dropped = %d, want 1", got)
	}
}

func TestTerminalEndsSubscription(t *testing.T) {
	t.Parallel()
	h := newTestHub(t, Options{})
	live := subscribe(t, h, "j1", ID{})
	h.Publish(durable("j1", 1, "queued"))
	h.Publish(durable("j1", 2, "succeeded"))
	h.Publish(ephemeral("j1", "late")) // after the end: nobody is listening
	tests := []struct {
		name string
		sub  *Subscription
		want []string
	}{
		{"live", live, []string{"1", "2"}},
		{"replay after end", subscribe(t, h, "j1", ID{}), []string{"1", "2"}},
		{"resume before end", subscribe(t, h, "j1", ID{Seq: 1}), []string{"2"}},
		{"resume at end", subscribe(t, h, "j1", ID{Seq: 2}), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := drain(t, tc.sub)
			if diff := cmp.Diff(tc.want, ids(got), cmpEmpty); diff != "" {
				t.Errorf("ids mismatch (-want +got):\n%s", diff)
			}
			if err := tc.sub.Err(); err != nil {
				t.Errorf("Err() = %v, want nil after a terminal event", err)
			}
		})
	}
}

func TestCustomTerminal(t *testing.T) {
	t.Parallel()
	h := newTestHub(t, Options{IsTerminal: func(e Event) bool { return e.Type == "done" }})
	s := subscribe(t, h, "j1", ID{})
	h.Publish(durable("j1", 1, "succeeded")) // not terminal under this predicate
	h.Publish(durable("j1", 2, "done"))
	if diff := cmp.Diff([]string{"1", "2"}, ids(drain(t, s))); diff != "" {
		t.Errorf("ids mismatch (-want +got):\n%s", diff)
	}
}

func TestContextCancelEndsSubscription(t *testing.T) {
	t.Parallel()
	h := newTestHub(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	s, err := h.Subscribe(ctx, "j1", ID{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cancel()
	drain(t, s)
	if !errors.Is(s.Err(), context.Canceled) {
		t.Errorf("Err() = %v, want context.Canceled", s.Err())
	}
	if _, err := h.Subscribe(ctx, "j1", ID{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Subscribe with a done ctx: err = %v, want context.Canceled", err)
	}
	if got := h.Stats(); got.Subscribers != 0 || got.Jobs != 0 {
		t.Errorf("Stats() = %+v, want no subscribers and no jobs left", got)
	}
}

func TestCloseIsIdempotentAndSilent(t *testing.T) {
	t.Parallel()
	h := newTestHub(t, Options{})
	s := subscribe(t, h, "j1", ID{})
	s.Close()
	s.Close()
	if _, ok := <-s.C(); ok {
		t.Fatal("C() still open after Close")
	}
	if err := s.Err(); err != nil {
		t.Errorf("Err() = %v, want nil after Close", err)
	}
	h.Publish(durable("j1", 1, "queued")) // must not panic on a closed channel
}

func TestHubClose(t *testing.T) {
	t.Parallel()
	h := NewHub(Options{})
	job := subscribe(t, h, "j1", ID{})
	owner, err := h.SubscribeAll(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	for name, s := range map[string]*Subscription{"job": job, "owner": owner} {
		drain(t, s)
		if !errors.Is(s.Err(), ErrHubClosed) {
			t.Errorf("%s: Err() = %v, want ErrHubClosed", name, s.Err())
		}
	}
	if _, err := h.Subscribe(context.Background(), "j1", ID{}); !errors.Is(err, ErrHubClosed) {
		t.Errorf("Subscribe after Close: err = %v, want ErrHubClosed", err)
	}
	h.Publish(durable("j1", 1, "queued"))
	h.Close()
}

// cmpEmpty treats nil and empty slices alike.
var cmpEmpty = cmp.Comparer(func(a, b []string) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return cmp.Equal(a, b)
})
