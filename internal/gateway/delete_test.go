package gateway

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/comfygate/comfygate/internal/artifact"
	"github.com/comfygate/comfygate/internal/job"
)

// putBlob stores content and returns its id.
func (e *env) putBlob(tb testing.TB, content string) string {
	tb.Helper()
	info, err := e.svc.cfg.Artifacts.Put(context.Background(), strings.NewReader(content), artifact.PutOptions{ContentType: "image/png"})
	if err != nil {
		tb.Fatal(err)
	}
	return info.ID
}

func (e *env) blobExists(tb testing.TB, id string) bool {
	tb.Helper()
	ok, err := e.svc.cfg.Artifacts.Exists(context.Background(), id)
	if err != nil {
		tb.Fatal(err)
	}
	return ok
}

// finishedJob stores a job of owner that ended in state at end, whose
// graph loads the staged inputs and whose outputs are the blobs outs, as
// the fleet records them.
func (e *env) finishedJob(tb testing.TB, owner string, state job.State, end time.Time, inputs, outs []string) *job.Job {
	tb.Helper()
	ctx := context.Background()
	graph := `{"9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "x"}}`
	for i, in := range inputs {
		graph += fmt.Sprintf(`, "%d": {"class_type": "LoadImage", "inputs": {"image": %q}}`, i+1, artifact.StagedName(in, "image/png"))
	}
	j, _, err := e.store.CreateJob(ctx, &job.Job{Owner: owner, Source: job.SourceREST, Graph: []byte(graph + "}"), CreatedAt: end.Add(-time.Minute)})
	if err != nil {
		tb.Fatal(err)
	}
	path := []job.State{job.StateDispatched, job.StateRunning}
	if state.Terminal() {
		path = append(path, state)
	}
	for _, st := range path {
		var arts []*job.Artifact
		if st.Terminal() {
			for i, o := range outs {
				arts = append(arts, &job.Artifact{ID: o, Owner: owner, JobID: j.ID, NodeID: "9", Filename: fmt.Sprintf("out_%d.png", i), Kind: job.ArtifactOutput})
			}
		}
		j, _, err = e.store.UpdateJobWithEvents(ctx, j.ID, func(j *job.Job) ([]job.Event, error) {
			return nil, j.TransitionTo(st, end)
		}, arts...)
		if err != nil {
			tb.Fatalf("move job to %s: %v", st, err)
		}
	}
	return j
}

func TestDeleteJob(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	end := time.Now()
	own := e.putBlob(t, "only this job's output")
	shared := e.putBlob(t, "an output another job made too")
	uploaded := e.putBlob(t, "an upload")
	if err := e.store.PutArtifact(ctx, &job.Artifact{ID: uploaded, Owner: "alice", Filename: "cat.png", Kind: job.ArtifactInput}); err != nil {
		t.Fatal(err)
	}
	named := e.putBlob(t, "a file a ComfyUI-compatible name shows")
	if err := e.store.(job.ComfyFileStore).CreateComfyFile(ctx, &job.ComfyFile{Owner: "alice", Type: "input", Filename: "dog.png", ArtifactID: named}); err != nil {
		t.Fatal(err)
	}
	input := e.putBlob(t, "an input nothing else names")

	j := e.finishedJob(t, "alice", job.StateSucceeded, end, []string{uploaded, input, named}, []string{own, shared})
	other := e.finishedJob(t, "alice", job.StateSucceeded, end, nil, []string{shared})
	running := e.finishedJob(t, "alice", job.StateRunning, end, nil, nil)

	t.Run("another key cannot see it", func(t *testing.T) {
		if err := e.svc.DeleteJob(ctx, "bob", j.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("bob's delete: %v, want ErrNotFound", err)
		}
	})
	t.Run("a running job is refused, naming its state", func(t *testing.T) {
		err := e.svc.DeleteJob(ctx, "alice", running.ID)
		var ce *ConflictError
		if !errors.As(err, &ce) || ce.Code != "job_not_finished" || !strings.Contains(ce.Message, "running") {
			t.Errorf("delete of a running job: %v, want a job_not_finished conflict naming the state", err)
		}
		if _, err := e.store.GetJob(ctx, running.ID); err != nil {
			t.Errorf("the running job is gone: %v", err)
		}
	})
	t.Run("the owner deletes it and the files only it used", func(t *testing.T) {
		if err := e.svc.DeleteJob(ctx, "alice", j.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.GetJob(ctx, "alice", j.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetJob after delete: %v, want ErrNotFound", err)
		}
		for blob, want := range map[string]bool{own: false, input: false, shared: true, uploaded: true, named: true} {
			if got := e.blobExists(t, blob); got != want {
				t.Errorf("blob %.8s exists = %v, want %v", blob, got, want)
			}
		}
		a, err := e.svc.OpenArtifact(ctx, "alice", shared)
		if err != nil {
			t.Fatalf("the other job's output: %v", err)
		}
		a.Close()
		if _, err := e.svc.GetJob(ctx, "alice", other.ID); err != nil {
			t.Errorf("the other job: %v", err)
		}
	})
	t.Run("again: not found", func(t *testing.T) {
		if err := e.svc.DeleteJob(ctx, "alice", j.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("second delete: %v, want ErrNotFound", err)
		}
	})
}

func TestStagedInputs(t *testing.T) {
	t.Parallel()
	a, b := strings.Repeat("a", 64), strings.Repeat("b", 64)
	graph := `{"1": {"class_type": "LoadImage", "inputs": {"image": "comfygate/` + a + `.png"}},
	 "2": {"class_type": "LoadVideo", "inputs": {"file": "comfygate/` + b + `.mp4", "n": 3}},
	 "3": {"class_type": "LoadImage", "inputs": {"image": "cat.png"}}}`
	got := stagedInputs([]byte(graph))
	if len(got) != 2 || !(got[0] == a && got[1] == b || got[0] == b && got[1] == a) {
		t.Errorf("staged inputs = %v, want %s and %s", got, a, b)
	}
	if got := stagedInputs([]byte(`not json`)); got != nil {
		t.Errorf("of a bad graph = %v", got)
	}
}
