package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/comfygate/comfygate/internal/job"
)

var deleteTests = map[string]func(*testing.T, NewStore){
	"RemovesTheJob":    deleteRemovesTheJob,
	"SharedBlobsStay":  deleteSharedBlobsStay,
	"OnlyFinishedJobs": deleteOnlyFinishedJobs,
	"NotFound":         deleteNotFound,
	"FreesIdempotency": deleteFreesIdempotency,
	"FinishedBefore":   finishedBefore,
	"WebhookMessages":  deleteWebhookMessages,
}

// finishedJob creates a job and moves it to a terminal state at finish.
func finishedJob(tb testing.TB, s job.Store, state job.State, finish time.Time, mods ...func(*job.Job)) *job.Job {
	tb.Helper()
	j := create(tb, s, newJob(mods...))
	path := []job.State{job.StateDispatched, state}
	if state == job.StateCancelled {
		path = path[1:]
	}
	for _, st := range path {
		var err error
		j, err = s.UpdateJob(context.Background(), j.ID, func(j *job.Job) error { return j.TransitionTo(st, finish) })
		if err != nil {
			tb.Fatalf("move job to %s: %v", st, err)
		}
	}
	return j
}

func deleteRemovesTheJob(t *testing.T, ns NewStore) {
	s := ns(t)
	ctx := t.Context()
	j := finishedJob(t, s, job.StateSucceeded, at(10))
	if _, err := s.AppendEvent(ctx, j.ID, job.Event{Type: "succeeded"}); err != nil {
		t.Fatal(err)
	}
	putArtifact(t, s, artifact("out1", j.ID, "9", "a.png"))
	putArtifact(t, s, artifact("out1", j.ID, "9", "a-copy.png")) // one blob, two records
	putArtifact(t, s, artifact("out2", j.ID, "10", "b.png"))
	fs, hasNames := s.(job.ComfyFileStore)
	if hasNames {
		name := &job.ComfyFile{Owner: "o", Type: "output", Filename: "ComfyUI_00001_.png", JobID: j.ID}
		if err := fs.CreateComfyFile(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	other := create(t, s, newJob()) // untouched by the deletion

	unref, err := s.DeleteJob(ctx, j.ID, []string{"in1"})
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "unreferenced blobs", []string{"in1", "out1", "out2"}, unref)
	_, err = s.GetJob(ctx, j.ID)
	wantErr(t, "GetJob after delete", err, job.ErrNotFound)
	_, err = s.ListEvents(ctx, j.ID, 0, 0)
	wantErr(t, "ListEvents after delete", err, job.ErrNotFound)
	if arts, err := s.ListArtifacts(ctx, j.ID); err != nil || len(arts) != 0 {
		t.Errorf("artifacts after delete = %v, %v; want none", arts, err)
	}
	_, err = s.GetArtifact(ctx, "out1")
	wantErr(t, "GetArtifact of the deleted job's output", err, job.ErrNotFound)
	if hasNames {
		_, err = fs.GetComfyFile(ctx, "o", "output", "", "ComfyUI_00001_.png")
		wantErr(t, "the output's ComfyUI file name after delete", err, job.ErrNotFound)
	}
	get(t, s, other.ID)
	_, err = s.DeleteJob(ctx, j.ID, nil)
	wantErr(t, "DeleteJob again", err, job.ErrNotFound)
}

// deleteSharedBlobsStay: a blob another job, an upload or a ComfyUI file
// name still names is not returned.
func deleteSharedBlobsStay(t *testing.T, ns NewStore) {
	s := ns(t)
	ctx := t.Context()
	j := finishedJob(t, s, job.StateSucceeded, at(10))
	k := finishedJob(t, s, job.StateSucceeded, at(11))
	for _, blob := range []string{"mine", "shared-job", "shared-upload", "shared-name"} {
		putArtifact(t, s, artifact(blob, j.ID, "9", blob+".png"))
	}
	putArtifact(t, s, artifact("shared-job", k.ID, "9", "k.png"))
	putArtifact(t, s, &job.Artifact{ID: "shared-upload", Kind: job.ArtifactInput, Filename: "up.png"})
	putArtifact(t, s, &job.Artifact{ID: "uploaded-input", Kind: job.ArtifactInput, Filename: "in.png"})
	inputs := []string{"uploaded-input", "unnamed-input"}
	if fs, ok := s.(job.ComfyFileStore); ok {
		if err := fs.CreateComfyFile(ctx, &job.ComfyFile{Type: "input", Filename: "x.png", ArtifactID: "shared-name"}); err != nil {
			t.Fatal(err)
		}
	} else {
		inputs = append(inputs, "shared-name") // no names: it is only the job's
	}
	unref, err := s.DeleteJob(ctx, j.ID, inputs)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"mine", "unnamed-input"}
	if _, ok := s.(job.ComfyFileStore); !ok {
		want = []string{"mine", "shared-name", "unnamed-input"}
	}
	diff(t, "unreferenced blobs", want, unref)
	if arts, err := s.ListArtifacts(ctx, k.ID); err != nil || len(arts) != 1 {
		t.Errorf("the other job's artifacts = %v, %v; want its one record", arts, err)
	}
	if a, err := s.GetArtifact(ctx, "shared-upload"); err != nil || a.Kind != job.ArtifactInput {
		t.Errorf("the upload's record = %+v, %v; want it kept", a, err)
	}
}

func deleteOnlyFinishedJobs(t *testing.T, ns NewStore) {
	s := ns(t)
	for _, st := range []job.State{job.StateQueued, job.StateDispatched, job.StateRunning, job.StateRetrying} {
		j := create(t, s, newJob())
		setState(t, s, j.ID, st)
		putArtifact(t, s, artifact("blob-"+string(st), j.ID, "9", "a.png"))
		_, err := s.DeleteJob(t.Context(), j.ID, nil)
		wantErr(t, "DeleteJob of a "+string(st)+" job", err, job.ErrConflict)
		if err != nil && !strings.Contains(err.Error(), string(st)) {
			t.Errorf("error %q does not name the state %s", err, st)
		}
		if got := get(t, s, j.ID); got.State != st {
			t.Errorf("job is %s after a refused delete, want %s", got.State, st)
		}
		if arts, _ := s.ListArtifacts(t.Context(), j.ID); len(arts) != 1 {
			t.Errorf("a refused delete removed artifact records: %v", arts)
		}
	}
	for _, st := range []job.State{job.StateSucceeded, job.StateFailed, job.StateCancelled} {
		j := finishedJob(t, s, st, at(1))
		if _, err := s.DeleteJob(t.Context(), j.ID, nil); err != nil {
			t.Errorf("DeleteJob of a %s job: %v", st, err)
		}
	}
}

func deleteNotFound(t *testing.T, ns NewStore) {
	_, err := ns(t).DeleteJob(t.Context(), "no-such-job", []string{"x"})
	wantErr(t, "DeleteJob(unknown)", err, job.ErrNotFound)
}

func deleteFreesIdempotency(t *testing.T, ns NewStore) {
	s := ns(t)
	key := func(j *job.Job) { j.Owner, j.IdempotencyKey, j.RequestHash = "o", "k1", "h1" }
	j := finishedJob(t, s, job.StateFailed, at(1), key)
	if _, err := s.DeleteJob(t.Context(), j.ID, nil); err != nil {
		t.Fatal(err)
	}
	again, replayed, err := s.CreateJob(t.Context(), newJob(key))
	if err != nil || replayed || again.ID == j.ID {
		t.Errorf("CreateJob with the deleted job's key = %v replayed %v, %v; want a new job", again, replayed, err)
	}
}

func finishedBefore(t *testing.T, ns NewStore) {
	s := ns(t)
	late := finishedJob(t, s, job.StateSucceeded, at(30))
	early := finishedJob(t, s, job.StateFailed, at(10))
	middle := finishedJob(t, s, job.StateCancelled, at(20))
	running := create(t, s, newJob())
	setState(t, s, running.ID, job.StateRunning)
	create(t, s, newJob()) // queued
	got, err := s.JobsFinishedBefore(t.Context(), at(30), 0)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "finished before at(30), oldest first", []string{early.ID, middle.ID}, got)
	got, err = s.JobsFinishedBefore(t.Context(), at(31), 0)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "finished before at(31)", []string{early.ID, middle.ID, late.ID}, got)
	got, err = s.JobsFinishedBefore(t.Context(), at(31), 2)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "the oldest two finished before at(31)", []string{early.ID, middle.ID}, got)
	got, err = s.JobsFinishedBefore(t.Context(), at(10), 0)
	if err != nil || len(got) != 0 {
		t.Errorf("finished before the first = %v, %v; want none", got, err)
	}
}

// deleteWebhookMessages: the job's webhook messages and their attempts go
// with it (a delivery in flight then fails to record, and is dropped).
func deleteWebhookMessages(t *testing.T, ns NewStore) {
	s, ws := outbox(t, ns)
	j := startedAndEnded(t, s)
	if len(messages(t, ws, j.ID)) == 0 {
		t.Fatal("the fixture queued no webhook message")
	}
	if _, err := s.DeleteJob(t.Context(), j.ID, nil); err != nil {
		t.Fatal(err)
	}
	if ms := messages(t, ws, j.ID); len(ms) != 0 {
		t.Errorf("messages after delete: %d, want none", len(ms))
	}
	if as, err := ws.ListDeliveryAttempts(t.Context(), j.ID); err != nil || len(as) != 0 {
		t.Errorf("attempts after delete: %v, %v; want none", as, err)
	}
}
