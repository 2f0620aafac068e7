package comfyapi

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/comfy/comfysim"
	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/internal/store/sqlite"
)

// writeCounter is the store of a fleet and a surface that counts the
// transactions naming outputs makes.
type writeCounter struct {
	*sqlite.Store
	creates  atomic.Int64 // names stored in a transaction of their own
	ends     atomic.Int64 // job updates that stored names
	endNames atomic.Int64 // names stored with them
}

func (c *writeCounter) CreateComfyFile(ctx context.Context, f *job.ComfyFile) error {
	c.creates.Add(1)
	return c.Store.CreateComfyFile(ctx, f)
}

func (c *writeCounter) PutComfyFile(ctx context.Context, f *job.ComfyFile) error {
	c.creates.Add(1)
	return c.Store.PutComfyFile(ctx, f)
}

func (c *writeCounter) UpdateJobWithNames(ctx context.Context, id string, fn func(*job.Job) ([]job.Event, error), names []*job.ComfyFile, arts ...*job.Artifact) (*job.Job, []job.Event, []*job.ComfyFile, error) {
	c.ends.Add(1)
	c.endNames.Add(int64(len(names)))
	return c.Store.UpdateJobWithNames(ctx, id, fn, names, arts...)
}

// A job's output names cost no transaction of their own: the name in the
// "executed" message is stored with the job's end, and resolves in /view,
// in /history and, after a restart, as an input.
func TestOutputNamesStoredWithTheJobsEnd(t *testing.T) {
	writes := &writeCounter{}
	// The run's end waits for its output's download long enough for the
	// surface to have named it, as a real backend's /view makes it wait.
	e := newFleetEnv(t, fleetEnvOptions{writes: writes, sim: comfysim.Options{ViewDelay: 300 * time.Millisecond}})
	sock := dialWS(t, e.srv.URL, "?clientId=names", nil)
	id := submit(t, e.srv.URL, map[string]any{"prompt": imageGraph(16, 8, "ended"), "client_id": "names"}, nil)
	ex := sock.wait("the SaveImage's executed", func(m wsMsg) bool { return m.Type == "executed" && m.Data["prompt_id"] == id })
	sock.wait("the end of the run", finished(id))
	shown := outputImages(t, map[string]any{"outputs": map[string]any{"3": ex.Data["output"]}})
	if len(shown) != 1 {
		t.Fatalf("executed output: %v", ex.Data["output"])
	}
	if c, n, names := writes.creates.Load(), writes.ends.Load(), writes.endNames.Load(); c != 0 || n != 1 || names != 1 {
		t.Errorf("%d names stored on their own, %d job ends with %d names; want 0, and 1 end with 1", c, n, names)
	}
	if v := viewRef(t, e.srv.URL, shown[0], nil); v.status != http.StatusOK {
		t.Errorf("/view of the executed name: %d", v.status)
	}
	entry, _ := do(t, http.MethodGet, e.srv.URL+"/history/"+id, nil, nil).json(t)[id].(map[string]any)
	if hist := outputImages(t, entry); len(hist) != 1 || hist[0]["filename"] != shown[0]["filename"] {
		t.Errorf("history shows %v, executed showed %v", hist, shown)
	}
	restarted := NewNames(e.store) // what a new process knows: the store
	value := shown[0]["filename"].(string) + " [output]"
	if blob, ok, err := restarted.ResolveName(context.Background(), "", value); err != nil || !ok || blob == "" {
		t.Errorf("after a restart, %q as an input: %q %v %v", value, blob, ok, err)
	}
}

// However a job's end goes, its held names end up stored before anyone
// is told them, under a free name.
func TestHeldNamesAreStored(t *testing.T) {
	t.Parallel()
	ref := comfy.FileRef{Filename: "held_00001_.png", Type: comfy.FileTypeOutput}
	tests := []struct {
		name, id string
		end      func(t *testing.T, n *Names, store *sqlite.Store, jobID string)
		want     string
	}{
		{"with the job's end", "5d0c7a52-3b7e-4f7a-9d1e-000000000001", func(t *testing.T, n *Names, store *sqlite.Store, jobID string) {
			endWith(t, n, store, jobID, nil)
		}, "held_00001_.png"},
		{"the end failed", "5d0c7a52-3b7e-4f7a-9d1e-000000000002", func(t *testing.T, n *Names, _ *sqlite.Store, jobID string) {
			n.TakeEndNames(jobID)
			n.EndNamesStored(context.Background(), jobID, nil, errors.New("the transaction failed"))
		}, "held_00001_.png"},
		{"taken meanwhile by another replica", "5d0c7a52-3b7e-4f7a-9d1e-000000000003", func(t *testing.T, n *Names, store *sqlite.Store, jobID string) {
			other := NewNames(store)
			if _, err := other.outputName(context.Background(), "", "other-job", "gpu-2", ref, false); err != nil {
				t.Fatal(err)
			}
			endWith(t, n, store, jobID, []string{"held_00001_.png"})
		}, "held_00002_.png"},
		{"the run moved on", "5d0c7a52-3b7e-4f7a-9d1e-000000000004", func(t *testing.T, n *Names, _ *sqlite.Store, jobID string) {
			n.flushHeld(context.Background(), jobID)
		}, "held_00001_.png"},
		{"asked by history first", "5d0c7a52-3b7e-4f7a-9d1e-000000000005", func(t *testing.T, n *Names, _ *sqlite.Store, jobID string) {
			got, err := n.outputName(context.Background(), "", jobID, "gpu-1", ref, false)
			if err != nil || got.Filename != "held_00001_.png" {
				t.Errorf("history: %+v, %v; want the held name", got, err)
			}
		}, "held_00001_.png"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, store := newIdleHandler(t)
			j := storeJob(t, h, tt.id, job.StateQueued)
			n := NewNames(store)
			f, b, err := n.heldOutputName(context.Background(), "", j.ID, "gpu-1", ref, false)
			if err != nil {
				t.Fatal(err)
			}
			if allDone([]*heldBatch{b}) {
				t.Fatal("a new name was done before it was stored")
			}
			tt.end(t, n, store, j.ID)
			<-b.done
			if b.err != nil || f.Filename != tt.want {
				t.Fatalf("held name %q, %v; want %q", f.Filename, b.err, tt.want)
			}
			got, err := store.GetComfyFile(context.Background(), "", comfy.FileTypeOutput, "", tt.want)
			if err != nil || got.JobID != j.ID || got.OriginFilename != ref.Filename {
				t.Errorf("stored %+v, %v; want job %s's file %s", got, err, j.ID, ref.Filename)
			}
		})
	}
}

// endWith stores the names n holds for jobID as the fleet does at the
// job's end; taken are the names to find taken.
func endWith(t *testing.T, n *Names, store *sqlite.Store, jobID string, taken []string) {
	t.Helper()
	names := n.TakeEndNames(jobID)
	_, _, gotTaken, err := store.UpdateJobWithNames(context.Background(), jobID, func(*job.Job) ([]job.Event, error) { return nil, nil }, names)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range gotTaken {
		got = append(got, f.Filename)
	}
	diffStrings(t, "taken names", taken, got)
	n.EndNamesStored(context.Background(), jobID, gotTaken, nil)
}

func diffStrings(t *testing.T, what string, want, got []string) {
	t.Helper()
	if len(want) != len(got) {
		t.Errorf("%s: %q, want %q", what, got, want)
		return
	}
	for i := range want {
		if want[i] != got[i] {
			t.Errorf("%s: %q, want %q", what, got, want)
			return
		}
	}
}

// Once a job's end took its names, a name given later is stored at once.
func TestNamesAfterTheEndAreStoredAtOnce(t *testing.T) {
	t.Parallel()
	h, store := newIdleHandler(t)
	j := storeJob(t, h, "5d0c7a52-3b7e-4f7a-9d1e-000000000006", job.StateQueued)
	n := NewNames(store)
	if names := n.TakeEndNames(j.ID); names != nil {
		t.Fatalf("took %v from a job without names", names)
	}
	n.EndNamesStored(context.Background(), j.ID, nil, nil)
	f, b, err := n.heldOutputName(context.Background(), "", j.ID, "gpu-1", comfy.FileRef{Filename: "late.png", Type: comfy.FileTypeOutput}, false)
	if err != nil || b != storedBatch {
		t.Fatalf("late name: %+v, %v, stored at once %v", f, err, b == storedBatch)
	}
	if _, err := store.GetComfyFile(context.Background(), "", comfy.FileTypeOutput, "", f.Filename); err != nil {
		t.Errorf("late name %s not stored: %v", f.Filename, err)
	}
}
