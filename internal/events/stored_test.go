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
