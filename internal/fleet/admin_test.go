package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/comfygate/comfygate/comfy/comfysim"
	"github.com/comfygate/comfygate/internal/job"
	"github.com/prometheus/client_golang/prometheus"
)

func TestStagedInputIsUploadedOnce(t *testing.T) {
	s := startSim(t, comfysim.Options{})
	e := newEnv(t, backendOf("gpu", s, 1))
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	hash, _, err := e.arts.PutBlob(context.Background(), bytes.NewReader(buf.Bytes()), "image/png")
	if err != nil {
		t.Fatal(err)
	}
	graph := func(mode string) json.RawMessage {
		return json.RawMessage(`{
		 "1": {"class_type": "LoadImage", "inputs": {"image": "comfygate/` + hash + `.png"}},
		 "2": {"class_type": "ImageFlip", "inputs": {"image": ["1", 0], "flip_method": "` + mode + `"}},
		 "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "staged"}}
		}`)
	}
	for _, mode := range []string{"x-axis: vertically", "y-axis: horizontally"} {
		j := e.hub.waitTerminal(t, e.store, e.submit(t, graph(mode)))
		if j.State != job.StateSucceeded || len(j.Outputs) != 1 {
			t.Fatalf("state %s outputs %+v error %v", j.State, j.Outputs, j.Error)
		}
	}
	got, err := os.ReadFile(filepath.Join(s.DataDir(), "input", "comfygate", hash+".png"))
	if err != nil || !bytes.Equal(got, buf.Bytes()) {
		t.Errorf("staged file on the backend: %v (equal=%v)", err, bytes.Equal(got, buf.Bytes()))
	}
	if !e.fleet.snapshot()[0].isUploaded(hash + ".png") {
		t.Error("the upload was not remembered")
	}
}

func TestMissingStagedInputFailsTheJob(t *testing.T) {
	s := startSim(t, comfysim.Options{})
	e := newEnv(t, backendOf("gpu", s, 1))
	j := e.hub.waitTerminal(t, e.store, e.submit(t, json.RawMessage(`{
	 "1": {"class_type": "LoadImage", "inputs": {"image": "comfygate/`+hex64+`.png"}},
	 "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "x"}}
	}`)))
	if j.State != job.StateFailed || j.Error == nil || j.Error.Type != "input_missing" || j.Attempts != 1 {
		t.Fatalf("state %s attempts %d error %+v", j.State, j.Attempts, j.Error)
	}
}

func TestAddRemoveBackend(t *testing.T) {
	first := startSim(t, comfysim.Options{StepDelay: 20 * time.Millisecond})
	second := startSim(t, comfysim.Options{})
	e := newEnv(t)
	if e.fleet.Ready() {
		t.Fatal("Ready without backends")
	}
	if err := e.fleet.AddBackend(backendOf("first", first, 2)); err != nil {
		t.Fatal(err)
	}
	if err := e.fleet.AddBackend(backendOf("first", second, 2)); err == nil {
		t.Error("a duplicate id was accepted")
	}
	e.waitHealthy(t)
	id := e.submit(t, imageGraph(simCheckpoint, 1, 500))
	e.hub.waitFor(t, "job started", started(id))
	if err := e.fleet.AddBackend(backendOf("second", second, 2)); err != nil {
		t.Fatal(err)
	}
	e.waitHealthy(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := e.fleet.RemoveBackend(ctx, "first"); err != nil { // too short to drain: evicts
		t.Fatal(err)
	}
	j := e.hub.waitTerminal(t, e.store, id)
	if j.State != job.StateSucceeded || j.Backend != "second" || j.Attempts != 2 {
		t.Fatalf("state %s backend %q attempts %d error %v", j.State, j.Backend, j.Attempts, j.Error)
	}
	if bs := e.fleet.Backends(); len(bs) != 1 || bs[0].ID != "second" {
		t.Errorf("backends after removal: %+v", bs)
	}
	if err := e.fleet.RemoveBackend(context.Background(), "first"); err == nil {
		t.Error("removing an unknown backend succeeded")
	}
}

func TestBackendsReportsStatus(t *testing.T) {
	s := startSim(t, comfysim.Options{StepDelay: 20 * time.Millisecond})
	reg := prometheus.NewRegistry()
	cfg := testConfig(openStore(t, t.TempDir()), newRecHub(), newMemArtifacts(), backendOf("gpu", s, 2))
	cfg.Metrics = reg
	e := startFleet(t, cfg)
	running := e.submit(t, imageGraph(simCheckpoint, 1, 300))
	e.hub.waitFor(t, "job started", started(running))
	waiting := e.submit(t, imageGraph(simCheckpoint, 2, 2))
	waitUntil(t, "second job waiting in ComfyUI", func() bool {
		bs := e.fleet.Backends()[0]
		return bs.Running == running && len(bs.Waiting) == 1 && bs.Waiting[0] == waiting
	})
	st := e.fleet.Backends()[0]
	if st.State != StateHealthy || !st.Connected || st.Version == "" || st.NodeCount == 0 || len(st.Models["ckpt_name"]) == 0 || len(st.Devices) == 0 {
		t.Errorf("status = %+v", st)
	}
	s.SetStepDelay(0)
	e.hub.waitTerminal(t, e.store, waiting)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	for _, want := range []string{"comfygate_fleet_jobs_dispatched_total", "comfygate_fleet_backend_request_seconds", "comfygate_fleet_inflight_jobs"} {
		if !names[want] {
			t.Errorf("metric %s missing", want)
		}
	}
}

func TestTestBackend(t *testing.T) {
	s := startSim(t, comfysim.Options{})
	e := newEnv(t)
	p, err := e.fleet.TestBackend(context.Background(), s.url)
	if err != nil || p.Version == "" || p.NodeCount == 0 || len(p.Devices) == 0 {
		t.Fatalf("TestBackend = %+v, %v", p, err)
	}
	if _, err := e.fleet.TestBackend(context.Background(), "ftp://nope"); err == nil {
		t.Error("a bad URL passed")
	}
}

func TestQueuePositionAndFairness(t *testing.T) {
	s := startSim(t, comfysim.Options{})
	e := newEnv(t, backendOf("gpu", s, 1))
	if err := e.fleet.Drain("gpu"); err != nil {
		t.Fatal(err)
	}
	owner := func(o string) func(*job.Job) { return func(j *job.Job) { j.Owner = o } }
	var heavy []string
	for i := range 4 {
		heavy = append(heavy, e.submit(t, imageGraph(simCheckpoint, i, 1), owner("heavy")))
	}
	light := e.submit(t, imageGraph(simCheckpoint, 99, 1), owner("light"))
	waitUntil(t, "all queued", func() bool { _, ok := e.fleet.QueuePosition(light); return ok })
	if pos, _ := e.fleet.QueuePosition(light); pos != 1 {
		t.Errorf("light owner's only job is at position %d; fairness puts it second", pos)
	}
	if err := e.fleet.Resume("gpu"); err != nil {
		t.Fatal(err)
	}
	lightDone := e.hub.waitTerminal(t, e.store, light)
	heavyLast := e.hub.waitTerminal(t, e.store, heavy[3])
	if !lightDone.FinishedAt.Before(heavyLast.FinishedAt) {
		t.Error("the light owner waited for the heavy owner's whole backlog")
	}
}
