package events

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func subscribeAll(tb testing.TB, h *Hub, owner string) *Subscription {
	tb.Helper()
	s, err := h.SubscribeAll(context.Background(), owner)
	if err != nil {
		tb.Fatalf("SubscribeAll(%q): %v", owner, err)
	}
	tb.Cleanup(s.Close)
	return s
}

func TestSubscribeAllFollowsOwnerJobs(t *testing.T) {
	t.Parallel()
	h := newTestHub(t, Options{})
	alice := subscribeAll(t, h, "alice")
	bob := subscribeAll(t, h, "bob")
	h.Publish(Event{JobID: "a1", Owner: "alice", Seq: 1, Type: "queued"})
	h.Publish(Event{JobID: "b1", Owner: "bob", Seq: 1, Type: "queued"})
	h.Publish(Event{JobID: "a2", Owner: "alice", Seq: 1, Type: "queued"})
	h.Publish(Event{JobID: "a1", Owner: "alice", Seq: 2, Type: "succeeded"})
	h.Publish(Event{JobID: "a1", Owner: "alice", Type: "late"})

	type seen struct{ Job, ID string }
	collect := func(events []Event) []seen {
		var out []seen
		for _, e := range events {
			out = append(out, seen{e.JobID, e.ID().String()})
		}
		return out
	}
	wantAlice := []seen{{"a1", "1"}, {"a2", "1"}, {"a1", "2"}, {"a1", "2.1"}}
	if diff := cmp.Diff(wantAlice, collect(recv(t, alice, 4))); diff != "" {
		t.Errorf("alice's stream mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]seen{{"b1", "1"}}, collect(recv(t, bob, 1))); diff != "" {
		t.Errorf("bob's stream mismatch (-want +got):\n%s", diff)
	}
	select {
	case e := <-bob.C():
		t.Errorf("bob got alice's event %s/%s", e.JobID, e.ID())
	default:
	}
}

func TestSubscribeFunc(t *testing.T) {
	t.Parallel()
	h := newTestHub(t, Options{})
	s, err := h.SubscribeFunc(context.Background(), func(e Event) bool { return e.Type == "failed" })
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h.Publish(Event{JobID: "a", Owner: "alice", Seq: 1, Type: "succeeded"})
	h.Publish(Event{JobID: "b", Owner: "bob", Seq: 1, Type: "failed"})
	if got := recv(t, s, 1)[0]; got.JobID != "b" {
		t.Errorf("got job %s, want b", got.JobID)
	}
	if _, err := h.SubscribeFunc(context.Background(), nil); err == nil {
		t.Error("SubscribeFunc(nil): want an error")
	}
}

func TestStreamSlowAndCancel(t *testing.T) {
	t.Parallel()
	h := newTestHub(t, Options{SubscriberBuffer: 2})
	slow := subscribeAll(t, h, "alice")
	ctx, cancel := context.WithCancel(context.Background())
	cancelled, err := h.SubscribeAll(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	drain(t, cancelled)
	if !errors.Is(cancelled.Err(), context.Canceled) {
		t.Errorf("cancelled.Err() = %v, want context.Canceled", cancelled.Err())
	}
	for seq := int64(1); seq <= 3; seq++ {
		h.Publish(durable("j1", seq, "output"))
	}
	if got := drain(t, slow); len(got) != 2 || !errors.Is(slow.Err(), ErrSlowSubscriber) {
		t.Errorf("slow stream got %v, err %v; want 2 events then ErrSlowSubscriber", ids(got), slow.Err())
	}
	if got := h.Stats().Subscribers; got != 0 {
		t.Errorf("Stats().Subscribers = %d, want 0", got)
	}
}
