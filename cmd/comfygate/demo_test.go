package main

import (
	"net/http"
	"slices"
	"testing"

	"github.com/comfygate/comfygate/api"
)

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

	var j api.Job
	c.must(http.StatusCreated, "POST", "/v1/jobs?wait=60s", api.SubmitJobRequest{Workflow: "txt2img", Params: map[string]any{
		"prompt": "a paper boat", "steps": 3, "width": 320, "height": 256,
	}}).decode(t, &j)
	if j.State != api.StateSucceeded || len(j.Outputs) == 0 {
		t.Fatalf("demo job = %s with %d outputs (error %+v), want succeeded", j.State, len(j.Outputs), j.Error)
	}
	checkPNG(t, c, j.Outputs[0], 320, 256)

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
