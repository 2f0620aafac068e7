package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/comfygate/comfygate/internal/artifact"
	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/internal/store/sqlite"
	"github.com/comfygate/comfygate/workflow"
	"github.com/comfygate/comfygate/workflow/corenodes"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type env struct {
	svc   *Service
	fleet *fakeFleet
	store job.Store
	hub   *events.Hub
	now   *fakeNow // the Service's clock
}

// envOption changes the Service's configuration before it is built.
type envOption func(*Config)

func newEnv(tb testing.TB, opts ...envOption) *env {
	tb.Helper()
	e, err := newEnvOrErr(tb, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// newEnvErr is the error New returns for a configuration, nil if none.
func newEnvErr(tb testing.TB, opts ...envOption) error {
	tb.Helper()
	_, err := newEnvOrErr(tb, opts...)
	return err
}

func newEnvOrErr(tb testing.TB, opts ...envOption) (*env, error) {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	st, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(dir, "comfygate.db"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	arts, err := artifact.NewLocal(filepath.Join(dir, "artifacts"), artifact.LocalOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { arts.Close() })
	hub := events.NewHub(events.Options{Replayer: Replayer(st)})
	tb.Cleanup(hub.Close)
	cat, err := corenodes.Catalog(corenodes.Models{Inputs: []string{"example.png"}})
	if err != nil {
		tb.Fatal(err)
	}
	fl := &fakeFleet{catalog: cat, ready: true}
	now := &fakeNow{}
	now.ns.Store(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	cfg := Config{Store: st, Artifacts: arts, Hub: hub, Fleet: fl, MaxUploadBytes: 1 << 20, Clock: now.Now}
	for _, o := range opts {
		o(&cfg)
	}
	svc, err := New(cfg)
	if err != nil {
		return nil, err
	}
	return &env{svc: svc, fleet: fl, store: st, hub: hub, now: now}, nil
}

// fakeNow is a clock that moves only when told: nanoseconds since the
// Unix epoch.
type fakeNow struct{ ns atomic.Int64 }

func (c *fakeNow) Now() time.Time      { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeNow) Add(d time.Duration) { c.ns.Add(int64(d)) }

// rest is a submission of the REST surface, as httpapi makes them.
func rest(owner string, sub job.Submission) job.Submission {
	sub.Source, sub.Owner = job.SourceREST, owner
	return sub
}

func readTestdata(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// putTxt2img stores the default graph as workflow "t2i".
func (e *env) putTxt2img(tb testing.TB) Workflow {
	tb.Helper()
	w, created, err := e.svc.PutWorkflow(context.Background(), "", "t2i", readTestdata(tb, "txt2img.json"))
	if err != nil || !created {
		tb.Fatalf("PutWorkflow: created=%v err=%v", created, err)
	}
	return w
}

func TestPutWorkflowDetectsParams(t *testing.T) {
	e := newEnv(t)
	w := e.putTxt2img(t)
	got := map[string]string{}
	for _, p := range w.Params {
		got[p.Name] = p.Target.String()
	}
	want := map[string]string{
		"prompt": "6.inputs.text", "negative_prompt": "7.inputs.text", "seed": "3.inputs.seed",
		"steps": "3.inputs.steps", "cfg": "3.inputs.cfg", "width": "5.inputs.width",
		"height": "5.inputs.height", "checkpoint": "4.inputs.ckpt_name",
	}
	for name, target := range want {
		if got[name] != target {
			t.Errorf("param %s targets %q, want %q (all: %v)", name, got[name], target, got)
		}
	}
	schema := workflow.Schema(w.Params)
	props, _ := schema["properties"].(map[string]any)
	if _, ok := props["seed"]; !ok {
		t.Errorf("schema has no seed property: %v", schema)
	}
	// Storing the same content again is not a change.
	_, created, err := e.svc.PutWorkflow(context.Background(), "", "t2i", readTestdata(t, "txt2img.json"))
	if err != nil || created {
		t.Errorf("second put: created=%v err=%v, want false nil", created, err)
	}
}

func TestPutWorkflowWithSpec(t *testing.T) {
	e := newEnv(t)
	body, _ := json.Marshal(map[string]any{
		"graph":       json.RawMessage(readTestdata(t, "txt2img.json")),
		"description": "fox maker",
		"params": map[string]any{
			"text": map[string]any{"target": "6.inputs.text", "type": "string", "description": "what to draw"},
		},
	})
	w, _, err := e.svc.PutWorkflow(context.Background(), "", "spec", body)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Params) != 1 || w.Params[0].Name != "text" || w.Description != "fox maker" {
		t.Errorf("got params %+v description %q", w.Params, w.Description)
	}
}

func TestPutWorkflowErrors(t *testing.T) {
	graph := readTestdata(t, "txt2img.json")
	badTarget, _ := json.Marshal(map[string]any{"graph": json.RawMessage(graph),
		"params": map[string]any{"x": map[string]any{"target": "99.inputs.text", "type": "string"}}})
	tests := []struct {
		name, wfName string
		body         []byte
		field        string
	}{
		{"bad name", "../etc", graph, "name"},
		{"not json", "w", []byte("{"), "body"},
		{"empty graph", "w", []byte("{}"), "body"},
		{"node not an object", "w", []byte(`{"1": 5}`), "body"},
		{"param target missing", "w", badTarget, "params.x"},
	}
	e := newEnv(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := e.svc.PutWorkflow(context.Background(), "", tt.wfName, tt.body)
			assertField(t, err, tt.field)
		})
	}
}

func assertField(tb testing.TB, err error, field string) {
	tb.Helper()
	var ie *InputError
	if !errors.As(err, &ie) {
		tb.Fatalf("err = %v (%T), want *InputError on %q", err, err, field)
	}
	if ie.Field != field {
		tb.Errorf("field = %q (%v), want %q", ie.Field, ie, field)
	}
}

func TestSubmitWorkflowJob(t *testing.T) {
	e := newEnv(t)
	e.putTxt2img(t)
	ctx := context.Background()
	sub := rest("", job.Submission{Workflow: "t2i", Params: map[string]any{
		"prompt": "a blue fox", "seed": json.Number("18446744073709551615"), "width": 320, "height": 256,
	}, Priority: 5})
	j, err := e.svc.Submit(ctx, sub)
	if err != nil || j.Replayed {
		t.Fatalf("Submit: replayed=%v err=%v", j.Replayed, err)
	}
	if j.State != job.StateQueued || j.Workflow != "t2i" || j.Priority != 5 || j.Source != job.SourceREST {
		t.Errorf("job = %+v", j.Job)
	}
	stored, err := e.store.GetJob(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	g, err := workflow.ParseGraph(stored.Graph, workflow.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string]any{"6.text": "a blue fox", "3.seed": json.Number("18446744073709551615"),
		"5.width": json.Number("320"), "5.height": json.Number("256"), "7.text": "blurry"}
	for key, want := range checks {
		var id, input string
		for i := range key {
			if key[i] == '.' {
				id, input = key[:i], key[i+1:]
				break
			}
		}
		if got := g[id].Inputs[input]; got != want {
			t.Errorf("node %s input %s = %#v, want %#v", id, input, got, want)
		}
	}
	if got := e.fleet.Enqueued(); len(got) != 1 || got[0] != j.ID {
		t.Errorf("enqueued %v, want [%s]", got, j.ID)
	}
	evs, err := e.store.ListEvents(ctx, j.ID, 0, 10)
	if err != nil || len(evs) != 1 || evs[0].Type != job.EventQueued {
		t.Errorf("events = %+v, %v; want one queued event", evs, err)
	}
	if len(stored.OutputNodes) != 1 || stored.OutputNodes[0] != "9" {
		t.Errorf("output nodes = %v, want [9]", stored.OutputNodes)
	}
}

func TestSubmitErrors(t *testing.T) {
	e := newEnv(t)
	e.putTxt2img(t)
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	tests := []struct {
		name  string
		sub   job.Submission
		field string
	}{
		{"neither workflow nor prompt", job.Submission{}, "workflow"},
		{"both", job.Submission{Workflow: "t2i", Prompt: raw(`{}`)}, "prompt"},
		{"unknown param", job.Submission{Workflow: "t2i", Params: map[string]any{"colour": "red"}}, "params.colour"},
		{"steps too big", job.Submission{Workflow: "t2i", Params: map[string]any{"steps": 100000}}, "params.steps"},
		{"seed wrong type", job.Submission{Workflow: "t2i", Params: map[string]any{"seed": "abc"}}, "params.seed"},
		{"sampler not in enum", job.Submission{Workflow: "t2i", Params: map[string]any{"sampler_name": "warp"}}, "params.sampler_name"},
		{"params with prompt", job.Submission{Prompt: raw(`{"1":{}}`), Params: map[string]any{"a": 1}}, "params"},
		{"prompt not a graph", job.Submission{Prompt: raw(`[1]`)}, "prompt"},
		{"priority", job.Submission{Workflow: "t2i", Priority: 5000}, "priority"},
		{"override unknown node", job.Submission{Workflow: "t2i", Overrides: map[string]map[string]any{"99": {"x": 1}}}, "overrides.99"},
		{"missing model", job.Submission{Workflow: "t2i", Params: map[string]any{"checkpoint": "nope.safetensors"}}, "params.checkpoint"},
		{"traversal in image", job.Submission{Prompt: raw(`{"1":{"class_type":"LoadImage","inputs":{"image":"../../etc/passwd"}},"2":{"class_type":"PreviewImage","inputs":{"images":["1",0]}}}`)}, "prompt.1.inputs.image"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.Submit(context.Background(), rest("", tt.sub))
			assertField(t, err, tt.field)
		})
	}
}

func TestSubmitValidationNamesNode(t *testing.T) {
	e := newEnv(t)
	prompt := `{"1":{"class_type":"EmptyImage","inputs":{"width":-5,"height":8,"batch_size":1,"color":0}},"2":{"class_type":"SaveImage","inputs":{"filename_prefix":"x","images":["1",0]}}}`
	_, err := e.svc.Submit(context.Background(), rest("", job.Submission{Prompt: json.RawMessage(prompt)}))
	assertField(t, err, "prompt.1.inputs.width")
	var ie *InputError
	errors.As(err, &ie)
	if _, ok := ie.NodeErrors["1"]; !ok {
		t.Errorf("node errors %v lack node 1", ie.NodeErrors)
	}
	unknown := `{"1":{"class_type":"NoSuchNode","inputs":{}}}`
	_, err = e.svc.Submit(context.Background(), rest("", job.Submission{Prompt: json.RawMessage(unknown)}))
	if !errors.As(err, &ie) || ie.Problem == "" {
		t.Fatalf("unknown class: err = %v", err)
	}
}

func TestSubmitUnrunnableAndOverload(t *testing.T) {
	e := newEnv(t)
	e.putTxt2img(t)
	e.fleet.RunnableFunc = func(workflow.Graph) error { return errors.New(`model "x" is not on any backend`) }
	_, err := e.svc.Submit(context.Background(), rest("", job.Submission{Workflow: "t2i"}))
	var ue *UnrunnableError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v, want *UnrunnableError", err)
	}
	e.fleet.RunnableFunc = nil
	e.svc.cfg.MaxQueued = 1
	if _, err := e.svc.Submit(context.Background(), rest("", job.Submission{Workflow: "t2i"})); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Submit(context.Background(), rest("", job.Submission{Workflow: "t2i"}))
	var oe *OverloadError
	if !errors.As(err, &oe) || oe.RetryAfter <= 0 {
		t.Fatalf("err = %v, want *OverloadError with RetryAfter", err)
	}
}

func TestIdempotency(t *testing.T) {
	e := newEnv(t)
	e.putTxt2img(t)
	ctx := context.Background()
	keyed := func(owner, hash string, seed int) job.Submission {
		return rest(owner, job.Submission{Workflow: "t2i", Params: map[string]any{"seed": seed}, IdempotencyKey: "k1", RequestHash: hash})
	}
	first, err := e.svc.Submit(ctx, keyed("alice", "h1", 1))
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.svc.Submit(ctx, keyed("alice", "h1", 1))
	if err != nil || !again.Replayed || again.ID != first.ID {
		t.Fatalf("replay: id %s vs %s replayed=%v err=%v", again.ID, first.ID, again.Replayed, err)
	}
	_, err = e.svc.Submit(ctx, keyed("alice", "h2", 2))
	var ce *ConflictError
	if !errors.As(err, &ce) || !bytes.Contains([]byte(ce.Message), []byte(`"k1"`)) {
		t.Fatalf("err = %v, want ConflictError naming the key", err)
	}
	// Another owner's key space is separate.
	if res, err := e.svc.Submit(ctx, keyed("bob", "h2", 2)); err != nil || res.Replayed {
		t.Fatalf("bob: replayed=%v err=%v", res.Replayed, err)
	}
	if n := len(e.fleet.Enqueued()); n != 2 {
		t.Errorf("enqueued %d jobs, want 2", n)
	}
}

func pngBytes(tb testing.TB, w, h int) []byte {
	tb.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	img.Set(0, 0, color.RGBA{R: 255, A: 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func TestUploadStagesInputs(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	data := pngBytes(t, 4, 3)
	up, err := e.svc.Upload(ctx, "", bytes.NewReader(data), "../cat.png", "")
	if err != nil {
		t.Fatal(err)
	}
	if up.Filename != "cat.png" || up.ContentType != "image/png" || up.Size != int64(len(data)) {
		t.Errorf("upload = %+v", up)
	}
	for name, value := range map[string]string{
		"upload id": up.ID,
		"data url":  "data:image/png;base64," + base64Std(data),
	} {
		t.Run(name, func(t *testing.T) {
			prompt := bytes.Replace(readTestdata(t, "load-image.json"), []byte("example.png"), []byte(value), 1)
			j, err := e.svc.Submit(ctx, rest("", job.Submission{Prompt: prompt}))
			if err != nil {
				t.Fatal(err)
			}
			stored, _ := e.store.GetJob(ctx, j.ID)
			g, _ := workflow.ParseGraph(stored.Graph, workflow.Limits{})
			if got, want := g["1"].Inputs["image"], StagedPrefix+up.ID+".png"; got != want {
				t.Errorf("staged image = %v, want %v", got, want)
			}
		})
	}
	a, err := e.svc.OpenArtifact(ctx, "", up.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.ContentType() != "image/png" || a.Size() != int64(len(data)) || a.Name() != "cat.png" {
		t.Errorf("artifact: %s %d %s", a.ContentType(), a.Size(), a.Name())
	}
	if _, err := e.svc.OpenArtifact(ctx, "mallory", up.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("other owner: err = %v, want ErrNotFound", err)
	}
	big := bytes.Repeat([]byte{1}, 2<<20)
	if _, err := e.svc.Upload(ctx, "", bytes.NewReader(big), "big.bin", ""); err == nil {
		t.Error("oversized upload accepted")
	}
	missing := bytes.Replace(readTestdata(t, "load-image.json"), []byte("example.png"), bytes.Repeat([]byte("a"), 64), 1)
	_, err = e.svc.Submit(ctx, rest("", job.Submission{Prompt: missing}))
	assertField(t, err, "prompt.1.inputs.image")
}

func TestStreamsAndWait(t *testing.T) {
	e := newEnv(t)
	e.putTxt2img(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	j, err := e.svc.Submit(ctx, rest("", job.Submission{Workflow: "t2i"}))
	if err != nil {
		t.Fatal(err)
	}
	sub, err := e.svc.SubscribeJob(ctx, "", j.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	waited := make(chan JobStatus, 1)
	go func() {
		w, _ := e.svc.WaitJob(ctx, "", j.ID)
		waited <- w
	}()
	if ev := <-sub.C(); ev.Type != job.EventQueued || ev.ID().String() != "1" {
		t.Fatalf("first event = %+v, want queued with id 1", ev)
	}
	finish(t, e, j.ID)
	var last string
	for ev := range sub.C() {
		last = ev.Type
	}
	if sub.Err() != nil || last != job.EventSucceeded {
		t.Fatalf("last event %s err %v", last, sub.Err())
	}
	if w := <-waited; w.State != job.StateSucceeded || w.QueuePosition != nil {
		t.Errorf("WaitJob returned state %s position %v", w.State, w.QueuePosition)
	}
	// A late subscriber resuming after the first event gets the rest.
	late, err := e.svc.SubscribeJob(ctx, "", j.ID, "1")
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	var types []string
	for ev := range late.C() {
		types = append(types, ev.Type)
	}
	if len(types) != 3 || types[2] != job.EventSucceeded {
		t.Errorf("resumed types = %v", types)
	}
	if _, err := e.svc.SubscribeJob(ctx, "", j.ID, "x.y"); err == nil {
		t.Error("bad Last-Event-ID accepted")
	}
	if _, err := e.svc.SubscribeJob(ctx, "mallory", j.ID, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("another owner subscribes: err = %v, want ErrNotFound", err)
	}
}

// finish plays the fleet's part: the job runs and succeeds.
func finish(tb testing.TB, e *env, id string) {
	tb.Helper()
	ctx := context.Background()
	now := time.Now()
	step := func(to job.State, typ string) {
		_, ev, err := e.store.UpdateJobWithEvent(ctx, id, func(j *job.Job) (*job.Event, error) {
			return &job.Event{Type: typ}, j.TransitionTo(to, now)
		})
		if err != nil {
			tb.Fatal(err)
		}
		e.hub.Publish(events.FromStore("", *ev))
	}
	step(job.StateDispatched, job.EventDispatched)
	step(job.StateRunning, job.EventStarted)
	step(job.StateSucceeded, job.EventSucceeded)
}

func TestCancelAndOwnership(t *testing.T) {
	e := newEnv(t)
	e.putTxt2img(t)
	ctx := context.Background()
	j, err := e.svc.Submit(ctx, rest("alice", job.Submission{Workflow: "t2i"}))
	if err != nil {
		t.Fatal(err)
	}
	e.fleet.CancelFunc = func(ctx context.Context, id string) (*job.Job, error) {
		return e.store.UpdateJob(ctx, id, func(j *job.Job) error { return j.TransitionTo(job.StateCancelled, time.Now()) })
	}
	if _, err := e.svc.CancelJob(ctx, "bob", j.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("bob cancels alice's job: err = %v", err)
	}
	if _, err := e.svc.GetJob(ctx, "bob", j.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("bob reads alice's job: err = %v", err)
	}
	got, err := e.svc.CancelJob(ctx, "alice", j.ID)
	if err != nil || got.State != job.StateCancelled {
		t.Fatalf("cancel: %+v %v", got, err)
	}
	list, err := e.svc.ListJobs(ctx, "bob", JobQuery{})
	if err != nil || len(list.Jobs) != 0 {
		t.Errorf("bob lists %d jobs (%v)", len(list.Jobs), err)
	}
	list, err = e.svc.ListJobs(ctx, "alice", JobQuery{States: []job.State{job.StateCancelled}})
	if err != nil || len(list.Jobs) != 1 {
		t.Errorf("alice lists %d cancelled jobs (%v)", len(list.Jobs), err)
	}
}

func TestSubmitSource(t *testing.T) {
	e := newEnv(t)
	e.putTxt2img(t)
	ctx := context.Background()
	j, err := e.svc.Submit(ctx, job.Submission{Source: job.SourceFlask, ClientID: "my-api-1", Workflow: "t2i"})
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := e.store.GetJob(ctx, j.ID)
	if stored.Source != job.SourceFlask || stored.ClientID != "my-api-1" || len(stored.Comfy) != 0 {
		t.Errorf("source %q client %q comfy %s", stored.Source, stored.ClientID, stored.Comfy)
	}
	for _, source := range []string{"", "web"} {
		if _, err := e.svc.Submit(ctx, job.Submission{Source: source, Workflow: "t2i"}); err == nil {
			t.Errorf("source %q accepted", source)
		}
	}
}
