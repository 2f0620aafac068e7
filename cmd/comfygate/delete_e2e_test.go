package main

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/comfy/comfysim"
	"github.com/comfygate/comfygate/internal/artifact"
)

// TestJobsDeleteEndToEnd deletes jobs with `comfygate jobs delete` against
// a real gateway with two keys: only the owner can, a running job is
// refused until it has ended, and an output's file goes only with the last
// job that produced the same bytes.
func TestJobsDeleteEndToEnd(t *testing.T) {
	const aliceKey, bobKey = "alice-key-0123456789", "bob-key-0123456789"
	sim := comfysim.Start(t, comfysim.Options{})
	data := t.TempDir()
	g := startRun(t, "serve", "--listen", "127.0.0.1:0", "--data", data, "--backend", sim.URL(),
		"--api-key", "alice:"+aliceKey, "--api-key", "bob:"+bobKey)
	c := newAPIClient(t, g.URL)
	c.waitReady()
	alice := []string{"Authorization", "Bearer " + aliceKey}
	c.must(http.StatusCreated, "PUT", "/v1/workflows/t2i", txt2imgGraph(t), alice...)
	cli := func(key string, args ...string) cliResult {
		return runCLI(t, append(args, "--server", g.URL, "--key", key)...)
	}
	finished := func(steps int) api.Job {
		var j api.Job
		c.must(http.StatusCreated, "POST", "/v1/jobs?wait=60s", api.SubmitJobRequest{Workflow: "t2i",
			Params: map[string]any{"steps": steps, "seed": 7, "width": 64, "height": 64}}, alice...).decode(t, &j)
		if j.State != api.StateSucceeded || len(j.Outputs) != 1 {
			t.Fatalf("job %s: %s, outputs %+v", j.ID, j.State, j.Outputs)
		}
		return j
	}
	// Two runs of the same prompt: the simulator draws the same image, so
	// both jobs' outputs are one stored file.
	first, second := finished(1), finished(1)
	blob := first.Outputs[0].ArtifactID
	if second.Outputs[0].ArtifactID != blob {
		t.Fatalf("outputs %s and %s differ; the test needs one shared file", blob, second.Outputs[0].ArtifactID)
	}

	t.Run("another key cannot delete it", func(t *testing.T) {
		r := cli(bobKey, "jobs", "delete", first.ID)
		if r.err == nil || !strings.Contains(r.err.Error(), "404") {
			t.Fatalf("bob's delete: %v, want a 404", r.err)
		}
		c.must(http.StatusOK, "GET", "/v1/jobs/"+first.ID, nil, alice...)
	})

	t.Run("a running job is refused until it has ended", func(t *testing.T) {
		sim.SetStepDelay(time.Hour)
		var j api.Job
		c.must(http.StatusCreated, "POST", "/v1/jobs", api.SubmitJobRequest{Workflow: "t2i", Params: map[string]any{"steps": 3}}, alice...).decode(t, &j)
		waitJobAs(t, c, j.ID, api.StateRunning, alice)
		r := cli(aliceKey, "jobs", "delete", j.ID)
		if r.err == nil || !strings.Contains(r.err.Error(), "409") || !strings.Contains(r.err.Error(), "running") {
			t.Fatalf("delete of a running job: %v, want 409 naming the state", r.err)
		}
		mustCLIOK(t, cli(aliceKey, "jobs", "cancel", j.ID))
		sim.SetStepDelay(0)
		waitJobAs(t, c, j.ID, api.StateCancelled, alice)
		if r := mustCLIOK(t, cli(aliceKey, "jobs", "delete", j.ID)); r.stdout != "deleted job "+j.ID+"\n" {
			t.Errorf("stdout %q", r.stdout)
		}
	})

	t.Run("a file shared by two jobs goes with the last", func(t *testing.T) {
		mustCLIOK(t, cli(aliceKey, "jobs", "delete", first.ID))
		c.must(http.StatusNotFound, "GET", "/v1/jobs/"+first.ID, nil, alice...)
		c.must(http.StatusOK, "GET", "/v1/artifacts/"+blob, nil, alice...)
		if !blobOnDisk(t, data, blob) {
			t.Fatal("the shared output file was removed with the first job")
		}
		r := mustCLIOK(t, cli(aliceKey, "jobs", "delete", second.ID, "--json"))
		if !strings.Contains(r.stdout, `"deleted": "`+second.ID+`"`) {
			t.Errorf("--json printed %q", r.stdout)
		}
		c.must(http.StatusNotFound, "GET", "/v1/artifacts/"+blob, nil, alice...)
		if blobOnDisk(t, data, blob) {
			t.Error("the output file outlived every job that made it")
		}
	})
}

func mustCLIOK(tb testing.TB, r cliResult) cliResult {
	tb.Helper()
	if r.err != nil {
		tb.Fatalf("comfygate: %v\nstderr:\n%s", r.err, r.stderr)
	}
	return r
}

// waitJobAs polls a job with the owner's header until it is in state.
func waitJobAs(tb testing.TB, c *apiClient, id string, state api.JobState, header []string) {
	tb.Helper()
	var last api.Job
	if !poll(func() bool {
		c.must(http.StatusOK, "GET", "/v1/jobs/"+id, nil, header...).decode(tb, &last)
		return last.State == state
	}) {
		tb.Fatalf("job %s is %s, never %s", id, last.State, state)
	}
}

// blobOnDisk reports whether the data directory's artifact store holds
// the blob (as a row of its small blobs' database or as a file), read by a
// store of its own beside the running server's.
func blobOnDisk(tb testing.TB, data, id string) bool {
	tb.Helper()
	arts, err := artifact.NewLocal(filepath.Join(data, "artifacts"), artifact.LocalOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	defer arts.Close()
	found, err := arts.Exists(tb.Context(), id)
	if err != nil {
		tb.Fatal(err)
	}
	return found
}
