package fleet

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/comfygate/comfygate/comfy/comfysim"
	"github.com/comfygate/comfygate/internal/job"
)

// ComfyUI answers an identical graph from its cache with the old file
// names and writes nothing; these tests check users still get their files,
// both from save nodes the fleet moves into an output folder
// (outfolder.go: an equal graph gets the same folder, so the cache still
// answers) and from nodes it leaves in place, as PreviewImage here.

// previewGraph is imageGraph ending in PreviewImage (files in ComfyUI's
// temp directory, under a name of the run's own).
func previewGraph(seed int) json.RawMessage {
	g := string(imageGraph(simCheckpoint, seed, 2))
	return json.RawMessage(strings.Replace(g, `"SaveImage", "inputs": {"images": ["8", 0], "filename_prefix": "fleet"}`,
		`"PreviewImage", "inputs": {"images": ["8", 0]}`, 1))
}

func TestIdenticalResubmissionGetsOutputs(t *testing.T) {
	s := startSim(t, comfysim.Options{})
	e := newEnv(t, backendOf("gpu", s, 1))
	tests := []struct {
		name  string
		graph json.RawMessage
	}{
		{"a save node in an output folder", imageGraph(simCheckpoint, 7, 2)},
		{"a node left in place", previewGraph(7)},
	}
	for _, tt := range tests {
		first := e.hub.waitTerminal(t, e.store, e.submit(t, tt.graph))
		second := e.hub.waitTerminal(t, e.store, e.submit(t, tt.graph))
		for _, j := range []*job.Job{first, second} {
			if j.State != job.StateSucceeded || len(j.Outputs) != 1 {
				t.Fatalf("%s: job %s: %s outputs %+v", tt.name, j.ID, j.State, j.Outputs)
			}
			if data, ok := e.arts.get(j.Outputs[0].ArtifactID); !ok || !bytes.HasPrefix(data, pngMagic) {
				t.Errorf("%s: job %s: output is not a stored PNG", tt.name, j.ID)
			}
		}
		if f, g := first.Outputs[0], second.Outputs[0]; f != g {
			t.Errorf("%s: cached re-run gave %+v after %+v; want the same file", tt.name, g, f)
		}
	}
}

// removeOutputs deletes every file the simulator saved.
func removeOutputs(tb testing.TB, s *sim) {
	tb.Helper()
	for _, kind := range []string{"output", "temp"} {
		dir := filepath.Join(s.DataDir(), kind)
		if err := os.RemoveAll(dir); err != nil {
			tb.Fatal(err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			tb.Fatal(err)
		}
	}
}

func TestCachedRunWithDeletedFileReusesEarlierCopy(t *testing.T) {
	s := startSim(t, comfysim.Options{})
	e := newEnv(t, backendOf("gpu", s, 1))
	g := imageGraph(simCheckpoint, 8, 2)
	first := e.hub.waitTerminal(t, e.store, e.submit(t, g))
	removeOutputs(t, s)
	second := e.hub.waitTerminal(t, e.store, e.submit(t, g))
	if second.State != job.StateSucceeded || second.Attempts != 1 || len(second.Outputs) != 1 {
		t.Fatalf("second: %s attempts %d outputs %+v error %v", second.State, second.Attempts, second.Outputs, second.Error)
	}
	if second.Outputs[0].ArtifactID != first.Outputs[0].ArtifactID {
		t.Error("the earlier copy was not reused")
	}
}

func TestCachedRunWithDeletedFileAndNoCopyRunsAgain(t *testing.T) {
	s := startSim(t, comfysim.Options{})
	g := imageGraph(simCheckpoint, 9, 2)
	arts := newMemArtifacts()
	dir := t.TempDir()
	st := openStore(t, dir)
	a := startFleet(t, testConfig(st, newRecHub(), arts, backendOf("gpu", s, 1)))
	first := a.hub.waitTerminal(t, st, a.submit(t, g))
	a.stop(t) // a new process remembers no earlier copies
	removeOutputs(t, s)

	b := startFleet(t, testConfig(st, newRecHub(), arts, backendOf("gpu", s, 1)))
	j := b.hub.waitTerminal(t, st, b.submit(t, g))
	if j.State != job.StateSucceeded || len(j.Outputs) != 1 {
		t.Fatalf("state %s outputs %+v error %v log %+v", j.State, j.Outputs, j.Error, j.AttemptLog)
	}
	if j.Attempts != 2 || j.AttemptLog[0].Outcome != outcomeOutputsGone {
		t.Errorf("attempts %d log %+v", j.Attempts, j.AttemptLog)
	}
	data, ok := arts.get(j.Outputs[0].ArtifactID)
	if !ok || !bytes.HasPrefix(data, pngMagic) {
		t.Error("re-run output is not a stored PNG")
	}
	_ = first // the re-run may or may not produce the same bytes; both are fine
}

// TestCachedRunWithDeletedFileAndDeletedCopyRunsAgain: the earlier copy
// this process remembers was removed with the job that made it (DELETE
// /v1/jobs, retention), so it cannot stand in for the backend's file.
func TestCachedRunWithDeletedFileAndDeletedCopyRunsAgain(t *testing.T) {
	s := startSim(t, comfysim.Options{})
	e := newEnv(t, backendOf("gpu", s, 1))
	g := imageGraph(simCheckpoint, 10, 2)
	first := e.hub.waitTerminal(t, e.store, e.submit(t, g))
	if first.State != job.StateSucceeded || len(first.Outputs) != 1 {
		t.Fatalf("first: %s outputs %+v", first.State, first.Outputs)
	}
	e.arts.remove(first.Outputs[0].ArtifactID)
	removeOutputs(t, s)
	j := e.hub.waitTerminal(t, e.store, e.submit(t, g))
	if j.State != job.StateSucceeded || len(j.Outputs) != 1 || j.Attempts != 2 || j.AttemptLog[0].Outcome != outcomeOutputsGone {
		t.Fatalf("state %s attempts %d outputs %+v log %+v error %v", j.State, j.Attempts, j.Outputs, j.AttemptLog, j.Error)
	}
	if data, ok := e.arts.get(j.Outputs[0].ArtifactID); !ok || !bytes.HasPrefix(data, pngMagic) {
		t.Error("the output is not a stored PNG")
	}
}
