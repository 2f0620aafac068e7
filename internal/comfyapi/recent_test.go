package comfyapi

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/internal/job"
)

// countingNames is a store of Names that counts the reads recent saves.
type countingNames struct {
	NameStore
	finds, gets atomic.Int64
}

func (c *countingNames) FindComfyFile(ctx context.Context, owner, backend, typ, sub, name string) (*job.ComfyFile, error) {
	c.finds.Add(1)
	return c.NameStore.FindComfyFile(ctx, owner, backend, typ, sub, name)
}

func (c *countingNames) GetJob(ctx context.Context, id string) (*job.Job, error) {
	c.gets.Add(1)
	return c.NameStore.GetJob(ctx, id)
}

// A name given to a job's file is given again without the store; another
// job's file of the same origin is still looked up.
func TestNamesRememberTheNamesTheyGave(t *testing.T) {
	t.Parallel()
	_, store := newIdleHandler(t)
	cs := &countingNames{NameStore: store}
	n := NewNames(cs)
	ctx := context.Background()
	ref := comfy.FileRef{Filename: "ComfyUI_00001_.png", Type: comfy.FileTypeOutput}
	name := func(jobID string) comfy.FileRef {
		got, err := n.outputName(ctx, "", jobID, "gpu-1", ref, false)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	first := name("j1")
	if again := name("j1"); again != first || cs.finds.Load() != 1 {
		t.Errorf("asked again: %+v (first %+v) after %d store lookups, want the same name after 1", again, first, cs.finds.Load())
	}
	if other := name("j2"); other == first || cs.finds.Load() != 2 {
		t.Errorf("another job: %+v after %d store lookups, want a new name after 2", other, cs.finds.Load())
	}
}

// A finished job's outputs are read once for its downloads; an unfinished
// job's are read each time (they may still come).
func TestNamesRememberFinishedJobsOutputs(t *testing.T) {
	t.Parallel()
	h, store := newIdleHandler(t)
	cs := &countingNames{NameStore: store}
	n := NewNames(cs)
	ctx := context.Background()
	out := func(j *job.Job) {
		j.Outputs = []job.Output{{ArtifactID: "a1", NodeID: "2", Kind: "images", Filename: "x.png", Type: comfy.FileTypeOutput}}
	}
	tests := []struct {
		name     string
		id       string
		state    job.State
		wantGets int64
	}{
		{"finished", "0b9e7c1a-6f1d-4c1e-9a3e-2f7d5b8c9d01", job.StateSucceeded, 1},
		{"queued", "0b9e7c1a-6f1d-4c1e-9a3e-2f7d5b8c9d02", job.StateQueued, 2},
	}
	for _, tt := range tests {
		storeJob(t, h, tt.id, tt.state, out)
		before := cs.gets.Load()
		f := &job.ComfyFile{JobID: tt.id, OriginType: comfy.FileTypeOutput, OriginFilename: "x.png"}
		for range 2 {
			id, ok, err := n.blobOf(ctx, f)
			if err != nil || !ok || id != "a1" {
				t.Fatalf("%s: blobOf = %q %v %v, want a1", tt.name, id, ok, err)
			}
		}
		if got := cs.gets.Load() - before; got != tt.wantGets {
			t.Errorf("%s: %d reads of the job for two downloads, want %d", tt.name, got, tt.wantGets)
		}
	}
}
