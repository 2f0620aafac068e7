package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/comfygate/comfygate/comfy/comfysim"
	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/workflow"
)

// waitUntil polls cond until it holds, failing the test at waitTimeout.
func waitUntil(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(waitTimeout)
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		<-t.C
	}
}

func newEnv(tb testing.TB, backends ...BackendConfig) *env {
	tb.Helper()
	cfg := testConfig(openStore(tb, tb.TempDir()), newRecHub(), newMemArtifacts(), backends...)
	return startFleet(tb, cfg)
}

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

func TestHappyPathCopiesOutputsAndPublishesProgress(t *testing.T) {
	s := startSim(t, comfysim.Options{})
	e := newEnv(t, backendOf("gpu", s, 2))
	id := e.submit(t, imageGraph(simCheckpoint, 1, 3))
	j := e.hub.waitTerminal(t, e.store, id)

	if j.State != job.StateSucceeded {
		t.Fatalf("state = %s, error %v", j.State, j.Error)
	}
	if j.Backend != "gpu" || j.Attempts != 1 {
		t.Errorf("backend %q attempts %d", j.Backend, j.Attempts)
	}
	if j.Progress.Fraction != 1 || j.Progress.NodesTotal != 7 || j.StartedAt.IsZero() {
		t.Errorf("final progress %+v, started %v", j.Progress, j.StartedAt)
	}
	if len(j.Outputs) != 1 {
		t.Fatalf("outputs = %+v", j.Outputs)
	}
	o := j.Outputs[0]
	data, ok := e.arts.get(o.ArtifactID)
	if !ok || !bytes.HasPrefix(data, pngMagic) || int64(len(data)) != o.Size {
		t.Errorf("artifact %s: stored=%v png=%v size %d vs %d", o.ArtifactID, ok, bytes.HasPrefix(data, pngMagic), len(data), o.Size)
	}
	if o.NodeID != "9" || o.Kind != "images" || o.ContentType != "image/png" {
		t.Errorf("output = %+v", o)
	}
	arts, err := e.store.ListArtifacts(context.Background(), id)
	if err != nil || len(arts) != 1 || arts[0].ID != o.ArtifactID || arts[0].NodeID != "9" {
		t.Errorf("artifact records = %+v, %v", arts, err)
	}
	checkEventOrder(t, e.hub.ofJob(id))
	if executions(j, s) != 1 {
		t.Errorf("executed %d times", executions(j, s))
	}
}

// checkEventOrder checks the durable lifecycle and that progress was
// published, ephemeral, between start and end.
func checkEventOrder(t *testing.T, evs []events.Event) {
	t.Helper()
	var durable []string
	progress := 0
	for _, e := range evs {
		if e.Sub == 0 {
			durable = append(durable, e.Type)
			continue
		}
		if e.Type == job.EventProgress {
			progress++
			var p job.Progress
			if err := json.Unmarshal(e.Data, &p); err != nil || p.NodesTotal != 7 || p.Fraction < 0 || p.Fraction > 1 {
				t.Errorf("progress event %s: %+v %v", e.Data, p, err)
			}
		}
	}
	want := []string{job.EventDispatched, job.EventStarted, job.EventOutput, job.EventSucceeded}
	if !equalStrings(durable, want) {
		t.Errorf("durable events = %v, want %v", durable, want)
	}
	if progress == 0 {
		t.Error("no progress event was published")
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPreviewsArePublished(t *testing.T) {
	s := startSim(t, comfysim.Options{PreviewMethod: "auto"})
	e := newEnv(t, backendOf("gpu", s, 1))
	id := e.submit(t, imageGraph(simCheckpoint, 2, 4))
	j := e.hub.waitTerminal(t, e.store, id)
	if j.State != job.StateSucceeded {
		t.Fatalf("state %s: %v", j.State, j.Error)
	}
	for _, ev := range e.hub.ofJob(id) {
		if ev.Type != job.EventPreview {
			continue
		}
		var p job.PreviewData
		if err := json.Unmarshal(ev.Data, &p); err != nil || len(p.Image) == 0 || p.Node != "3" {
			t.Errorf("preview %+v: %v", p, err)
		}
		return
	}
	t.Error("no preview event was published")
}

func TestLateBindingKeepsOneInflightPerBackend(t *testing.T) {
	a := startCountingSim(t, comfysim.Options{StepDelay: 5 * time.Millisecond})
	b := startCountingSim(t, comfysim.Options{StepDelay: 5 * time.Millisecond})
	e := newEnv(t, backendOf("a", a, 1), backendOf("b", b, 1))
	e.waitHealthy(t)
	var ids []string
	for i := range 6 {
		ids = append(ids, e.submit(t, imageGraph(simCheckpoint, 100+i, 3)))
	}
	ran := map[string]int{}
	for _, id := range ids {
		j := e.hub.waitTerminal(t, e.store, id)
		if j.State != job.StateSucceeded {
			t.Fatalf("job %s: %s %v", id, j.State, j.Error)
		}
		ran[j.Backend]++
	}
	if a.maxHeld() != 0 || b.maxHeld() != 0 {
		t.Errorf("a backend already held prompts when another came: a=%d b=%d (want 0 with MaxInflight 1)", a.maxHeld(), b.maxHeld())
	}
	if ran["a"] == 0 || ran["b"] == 0 {
		t.Errorf("jobs per backend = %v; both should have worked", ran)
	}
}

func TestCapabilityPlacement(t *testing.T) {
	sa := startSim(t, comfysim.Options{Checkpoints: []string{"a.safetensors"}})
	sb := startSim(t, comfysim.Options{Checkpoints: []string{"b.safetensors"}})
	e := newEnv(t, backendOf("a", sa, 2), backendOf("b", sb, 2))
	e.waitHealthy(t)
	for i := range 3 {
		id := e.submit(t, imageGraph("b.safetensors", i, 2))
		j := e.hub.waitTerminal(t, e.store, id)
		if j.State != job.StateSucceeded || j.Backend != "b" {
			t.Errorf("job %d: %s on %q (%v); only b has the model", i, j.State, j.Backend, j.Error)
		}
	}
	g, err := workflow.ParseGraph(imageGraph("nowhere.safetensors", 1, 2), workflow.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	err = e.fleet.CheckRunnable(g)
	const want = `model "nowhere.safetensors" (ckpt_name of node 4) is not on any backend`
	if !errors.Is(err, ErrUnrunnable) || err.Error() != want {
		t.Errorf("CheckRunnable = %v, want %q", err, want)
	}
	cat := e.fleet.Catalog()
	if cat == nil {
		t.Fatal("no merged catalog")
	}
	if _, ok := cat.Class("KSampler"); !ok {
		t.Error("merged catalog lacks KSampler")
	}
	models := map[string]bool{}
	for _, bs := range e.fleet.Backends() {
		for _, m := range bs.Models["ckpt_name"] {
			models[m] = true
		}
	}
	if !models["a.safetensors"] || !models["b.safetensors"] {
		t.Errorf("backend model lists = %v", models)
	}
}

func TestExecutionErrorFailsWithNode(t *testing.T) {
	s := startSim(t, comfysim.Options{FailNode: "KSampler"})
	e := newEnv(t, backendOf("gpu", s, 2))
	id := e.submit(t, imageGraph(simCheckpoint, 1, 2))
	j := e.hub.waitTerminal(t, e.store, id)
	if j.State != job.StateFailed || j.Error == nil {
		t.Fatalf("state %s error %v", j.State, j.Error)
	}
	if j.Error.Type != "execution_error" || j.Error.NodeID != "3" || j.Error.NodeType != "KSampler" || j.Error.Message == "" {
		t.Errorf("error = %+v", j.Error)
	}
	if j.Attempts != 1 {
		t.Errorf("attempts = %d; a node error is not retried", j.Attempts)
	}
}

func TestValidationErrorFailsWithoutRetry(t *testing.T) {
	s := startSim(t, comfysim.Options{})
	e := newEnv(t, backendOf("gpu", s, 2))
	// Valid for our capability check (no model named), invalid for ComfyUI.
	id := e.submit(t, json.RawMessage(`{"1": {"class_type": "SaveImage", "inputs": {"filename_prefix": "x"}}}`))
	j := e.hub.waitTerminal(t, e.store, id)
	if j.State != job.StateFailed || j.Error == nil || j.Error.Type == "" || j.Attempts != 1 {
		t.Fatalf("state %s attempts %d error %+v", j.State, j.Attempts, j.Error)
	}
}

func TestTextOutputs(t *testing.T) {
	s := startSim(t, comfysim.Options{})
	e := newEnv(t, backendOf("gpu", s, 2))
	id := e.submit(t, json.RawMessage(`{
	 "1": {"class_type": "PrimitiveString", "inputs": {"value": "hello"}},
	 "2": {"class_type": "StringConcatenate", "inputs": {"string_a": ["1", 0], "string_b": "world", "delimiter": ", "}},
	 "3": {"class_type": "CaseConverter", "inputs": {"string": ["2", 0], "mode": "UPPERCASE"}},
	 "4": {"class_type": "PreviewAny", "inputs": {"source": ["3", 0]}}
	}`))
	j := e.hub.waitTerminal(t, e.store, id)
	if j.State != job.StateSucceeded || len(j.Outputs) != 1 || j.Outputs[0].Text != "HELLO, WORLD" || j.Outputs[0].Kind != "text" {
		t.Fatalf("state %s outputs %+v error %v", j.State, j.Outputs, j.Error)
	}
}

func TestOutputNodesLimitWhatIsCollected(t *testing.T) {
	s := startSim(t, comfysim.Options{})
	e := newEnv(t, backendOf("gpu", s, 2))
	two := json.RawMessage(`{
	 "1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 5}},
	 "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "a"}},
	 "3": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}}
	}`)
	tests := []struct {
		name    string
		outputs []string
		want    []string // node ids of the outputs
	}{
		{"unset collects every output node", nil, []string{"2", "3"}},
		{"empty list means unset", []string{}, []string{"2", "3"}},
		{"one target", []string{"3"}, []string{"3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := e.submit(t, two, func(j *job.Job) { j.OutputNodes = tt.outputs })
			j := e.hub.waitTerminal(t, e.store, id)
			var got []string
			for _, o := range j.Outputs {
				got = append(got, o.NodeID)
			}
			if j.State != job.StateSucceeded || !equalStrings(got, tt.want) {
				t.Errorf("state %s outputs from %v, want %v (error %v)", j.State, got, tt.want, j.Error)
			}
		})
	}
}

// TestUnrunnableQueuedJobFails: a job that reached the queue although no
// backend has its model (accepted before any catalog was known) fails with an
// error naming the model instead of waiting forever, while a runnable job
// beside it runs.
func TestUnrunnableQueuedJobFails(t *testing.T) {
	s := startSim(t, comfysim.Options{Checkpoints: []string{"a.safetensors"}})
	e := newEnv(t, backendOf("a", s, 2))
	e.waitHealthy(t)
	bad := e.submit(t, imageGraph("nowhere.safetensors", 1, 2))
	good := e.submit(t, imageGraph("a.safetensors", 2, 2))
	j := e.hub.waitTerminal(t, e.store, bad)
	const want = `model "nowhere.safetensors" (ckpt_name of node 4) is not on any backend`
	if j.State != job.StateFailed || j.Error == nil || j.Error.Type != "unrunnable" || j.Error.Message != want || j.Attempts != 0 {
		t.Errorf("unrunnable job: state %s attempts %d error %+v", j.State, j.Attempts, j.Error)
	}
	if g := e.hub.waitTerminal(t, e.store, good); g.State != job.StateSucceeded {
		t.Errorf("runnable job: state %s error %v", g.State, g.Error)
	}
	if n := s.Stats().ExecutionsByPromptID; len(n) != 1 {
		t.Errorf("simulator executions %v, want only the runnable job", n)
	}
}
