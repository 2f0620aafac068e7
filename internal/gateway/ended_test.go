package gateway

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/job"
)

// A new job's first event carries the stored job, for subscribers that
// need more of it than the event says (where its messages go).
func TestQueuedEventCarriesTheJob(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	sub, err := e.hub.SubscribeAll(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	id := submitImage(t, e, "alice")
	select {
	case ev := <-sub.C():
		if ev.Type != job.EventQueued || ev.Job == nil || ev.Job.ID != id || len(ev.Job.Graph) == 0 {
			t.Errorf("first event %s carries job %+v, want the stored job %s", ev.Type, ev.Job, id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no queued event")
	}
}

// EndedJob shows the job a terminal event carries, without reading it
// back; for another owner's copy, or none, it asks the store.
func TestEndedJobUsesTheEventsJob(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	id := submitImage(t, e, "alice")
	// The store still says queued: only the carried copy says succeeded.
	done := &job.Job{ID: id, Owner: "alice", State: job.StateSucceeded}
	ended := events.WithJob(done, job.Event{JobID: id, Seq: 2, Type: job.EventSucceeded})
	for _, tc := range []struct {
		name      string
		owner     string
		ev        events.Event
		wantState job.State
		wantErr   error
	}{
		{"carried", "alice", ended, job.StateSucceeded, nil},
		{"carried, no keys", "", ended, job.StateSucceeded, nil},
		{"none carried", "alice", events.FromStore("alice", job.Event{JobID: id, Seq: 2, Type: job.EventSucceeded}), job.StateQueued, nil},
		{"another owner", "bob", ended, "", ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := e.svc.EndedJob(ctx, tc.owner, tc.ev)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("EndedJob: %v, want %v", err, tc.wantErr)
			}
			if err == nil && st.Job.State != tc.wantState {
				t.Errorf("state %s, want %s", st.Job.State, tc.wantState)
			}
		})
	}
}

// The job a terminal event carries is shown as its owner may read it: a
// user key reads a backend's error without its paths, as from the store.
func TestEndedJobShowsTheOwnersView(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const id = "6a0f6c43-3f5d-4a43-9d2b-2b1b9b0e6f10"
	failed := &job.Job{ID: id, Owner: "alice", State: job.StateFailed,
		Error: &job.Error{Type: "exception", Message: "cannot identify image file '/srv/comfy/input/secret.bin'"}}
	st, err := e.svc.EndedJob(context.Background(), "alice", events.WithJob(failed, job.Event{JobID: id, Seq: 3, Type: job.EventFailed}))
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Job.Error.Message; strings.Contains(got, "/srv/comfy") || !strings.Contains(got, "secret.bin") {
		t.Errorf("alice reads %q, want the message without its directory", got)
	}
	if !strings.Contains(failed.Error.Message, "/srv/comfy") {
		t.Error("the carried job itself was changed")
	}
}

// WaitJob returns the job its terminal event carried.
func TestWaitJobTakesTheEndedJob(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	id := submitImage(t, e, "alice")
	got := make(chan JobStatus, 1)
	go func() {
		st, err := e.svc.WaitJob(ctx, "alice", id)
		if err != nil {
			t.Error(err)
		}
		got <- st
	}()
	deadline := time.Now().Add(10 * time.Second)
	for e.hub.Stats().Subscribers == 0 { // the end must reach it live
		if time.Now().After(deadline) {
			t.Fatal("WaitJob never subscribed")
		}
		time.Sleep(time.Millisecond)
	}
	done := &job.Job{ID: id, Owner: "alice", State: job.StateSucceeded}
	e.hub.Publish(events.WithJob(done, job.Event{JobID: id, Seq: 2, Type: job.EventSucceeded}))
	select {
	case st := <-got:
		if st.Job != done {
			t.Errorf("WaitJob returned %+v, want the carried job", st.Job)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("WaitJob did not return")
	}
}

// submitImage submits a small image job for owner and returns its id.
func submitImage(t *testing.T, e *env, owner string) string {
	t.Helper()
	res, err := e.svc.Submit(context.Background(), rest(owner, job.Submission{Prompt: imagePrompt("")}))
	if err != nil {
		t.Fatal(err)
	}
	return res.Job.ID
}
