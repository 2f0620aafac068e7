package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/client"
)

// ownerStream is an open GET /v1/events stream.
type ownerStream struct {
	st  *client.EventStream
	ctx context.Context
}

// followAll opens the stream of every job's events; cleanup closes it.
func followAll(t *testing.T, base string) ownerStream {
	t.Helper()
	c, err := client.New(base, client.WithHTTPClient(newClient(t)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	st, err := c.OwnerEvents(ctx)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(); cancel() })
	return ownerStream{st: st, ctx: ctx}
}

// typesOf reads the stream up to the job's terminal event and returns the
// types of the job's events.
func (o ownerStream) typesOf(t *testing.T, jobID string) []string {
	t.Helper()
	var types []string
	for {
		ev, err := o.st.Next(o.ctx)
		if err != nil {
			t.Fatalf("event stream: %v (after %v)", err, types)
		}
		if ev.JobID != jobID {
			continue
		}
		types = append(types, ev.Type)
		if api.TerminalEvent(ev.Type) {
			return types
		}
	}
}

func TestDemo(t *testing.T) {
	g := startRun(t, "demo", "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--sim-step-delay", "1ms")
	c := newAPIClient(t, g.URL)

	var wf api.Workflow
	c.must(http.StatusOK, "GET", "/v1/workflows/txt2img", nil).decode(t, &wf)
	// The README's tour lists these; the choices come from the backends'
	// catalog, so the demo stored the example once one was healthy.
	names := make([]string, len(wf.Params))
	choices := map[string]int{}
	for i, p := range wf.Params {
		names[i], choices[p.Name] = p.Name, len(p.Enum)
	}
	want := []string{"prompt", "negative_prompt", "seed", "steps", "cfg", "sampler_name", "scheduler",
		"denoise", "width", "height", "batch_size", "checkpoint"}
	if !slices.Equal(names, want) {
		t.Errorf("txt2img parameters %v, want %v", names, want)
	}
	if choices["sampler_name"] == 0 || choices["checkpoint"] == 0 {
		t.Errorf("sampler_name has %d choices and checkpoint %d, want the backends' lists", choices["sampler_name"], choices["checkpoint"])
	}

	// Previews are live only: follow all jobs before submitting, so the
	// stream sees every event of the job whatever the machine's speed.
	live := followAll(t, g.URL)
	var j api.Job
	c.must(http.StatusCreated, "POST", "/v1/jobs?wait=60s", api.SubmitJobRequest{Workflow: "txt2img", Params: map[string]any{
		"prompt": "a paper boat", "steps": 3, "width": 320, "height": 256,
	}}).decode(t, &j)
	if got := live.typesOf(t, j.ID); !slices.Contains(got, api.EventPreview) {
		t.Errorf("the demo's event stream carried %v for the job, want a %s among them", got, api.EventPreview)
	}
	if j.State != api.StateSucceeded || len(j.Outputs) == 0 {
		t.Fatalf("demo job = %s with %d outputs (error %+v), want succeeded", j.State, len(j.Outputs), j.Error)
	}
	checkPNG(t, c, j.Outputs[0], 320, 256)

	// The README's img2img line, run as written from a directory holding
	// cat.png.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cat.png"), pngOf(t, 96, 64), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	r := mustCLI(t, "run", "img2img", "--image", "image=./cat.png", "-p", "denoise=0.6", "--server", g.URL)
	paths := strings.Fields(r.stdout)
	if len(paths) != 1 {
		t.Fatalf("img2img saved %v, want one image; stderr:\n%s", paths, r.stderr)
	}
	checkSavedPNG(t, ".", paths[0], 96, 64)

	var list api.BackendList
	c.must(http.StatusOK, "GET", "/v1/backends", nil).decode(t, &list)
	var ids []string
	for _, b := range list.Backends {
		ids = append(ids, b.ID)
	}
	if !slices.Equal(ids, []string{"sim-1", "sim-2"}) {
		t.Fatalf("demo backends %v, want sim-1 and sim-2", ids)
	}
}
