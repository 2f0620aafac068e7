package events

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/comfygate/comfygate/internal/job"
)

func TestFromStore(t *testing.T) {
	t.Parallel()
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	stored := job.Event{JobID: "j1", Seq: 3, Type: job.EventRetrying, Data: json.RawMessage(`{"attempt":1,"reason":"x"}`), Time: at}
	got := FromStore("alice", stored)
	want := Event{JobID: "j1", Owner: "alice", Seq: 3, Type: job.EventRetrying, Data: stored.Data, Time: at}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FromStore mismatch (-want +got):\n%s", diff)
	}
	if !got.Durable() || got.ID().String() != "3" {
		t.Errorf("FromStore gave %s, durable %v: want the durable event 3", got.ID(), got.Durable())
	}
}

// A job carried by an event reaches live subscribers only: the ring keeps
// the event without it, so a finished job holds no copy in memory.
func TestWithJobLiveOnly(t *testing.T) {
	t.Parallel()
	h := newTestHub(t, Options{})
	j := &job.Job{ID: "j1", Owner: "alice", State: job.StateSucceeded}
	live := subscribe(t, h, "j1", ID{})
	h.Publish(WithJob(j, job.Event{JobID: "j1", Seq: 1, Type: job.EventSucceeded}))
	if got := recv(t, live, 1)[0]; got.Job != j || got.Owner != "alice" {
		t.Errorf("live delivery: job %p owner %q, want %p alice", got.Job, got.Owner, j)
	}
	if got := recv(t, subscribe(t, h, "j1", ID{}), 1)[0]; got.Job != nil {
		t.Errorf("replay from the ring carries the job %+v, want none", got.Job)
	}
}
