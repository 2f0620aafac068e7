package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/internal/artifact"
	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/gateway"
	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/internal/store/sqlite"
	"github.com/comfygate/comfygate/workflow"
)

// idleFleet is a hand-written gateway.Fleet with no catalog (graphs are
// taken as given) and a fixed list of backends.
type idleFleet struct{ backends []gateway.Backend }

func (idleFleet) Enqueue(*job.Job) {}
func (idleFleet) Cancel(context.Context, string) (*job.Job, error) {
	return nil, job.ErrConflict
}
func (idleFleet) Catalog() *workflow.Catalog         { return nil }
func (idleFleet) CheckRunnable(workflow.Graph) error { return nil }
func (idleFleet) Ready() bool                        { return true }
func (f idleFleet) Backends() []gateway.Backend      { return f.backends }

// gatewayEnv is the REST Service over the real use cases and a real store.
type gatewayEnv struct {
	svc   Service
	store *sqlite.Store
	hub   *events.Hub
}

func newGatewayEnv(tb testing.TB, backends ...gateway.Backend) gatewayEnv {
	tb.Helper()
	svc, st, hub := newUseCases(tb, gateway.Config{Fleet: idleFleet{backends}})
	return gatewayEnv{svc: Gateway(svc), store: st, hub: hub}
}

// newUseCases builds the use cases of cfg over a real SQLite store, a
// local artifact store and a hub in a temporary directory.
func newUseCases(tb testing.TB, cfg gateway.Config) (*gateway.Service, *sqlite.Store, *events.Hub) {
	tb.Helper()
	dir := tb.TempDir()
	st, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(dir, "db"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	arts, err := artifact.NewLocal(filepath.Join(dir, "arts"), artifact.LocalOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { arts.Close() })
	hub := events.NewHub(events.Options{Replayer: gateway.Replayer(st)})
	tb.Cleanup(hub.Close)
	cfg.Store, cfg.Artifacts, cfg.Hub = st, arts, hub
	svc, err := gateway.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return svc, st, hub
}

var tinyPrompt = json.RawMessage(`{"1":{"class_type":"EmptyImage","inputs":{"width":8,"height":8,"batch_size":1,"color":0}},"2":{"class_type":"PreviewImage","inputs":{"images":["1",0]}}}`)

// TestGatewaySubmitAndReplay: a REST request becomes a REST job; the
// Idempotency-Key replays it for the same body only.
func TestGatewaySubmitAndReplay(t *testing.T) {
	e := newGatewayEnv(t)
	ctx := context.Background()
	req := api.SubmitJobRequest{Prompt: tinyPrompt, Priority: 3, Webhook: &api.WebhookSpec{URL: "https://hooks.example/done", Events: []string{api.WebhookStarted}}}
	j, replayed, err := e.svc.SubmitJob(ctx, "alice", req, "key-1")
	if err != nil || replayed {
		t.Fatalf("SubmitJob: %v replayed=%v", err, replayed)
	}
	if j.State != api.StateQueued || j.Priority != 3 || j.QueuePosition == nil || *j.QueuePosition != 0 || j.Progress != nil {
		t.Errorf("job view %+v", j)
	}
	stored, err := e.store.GetJob(ctx, j.ID)
	if err != nil || stored.Source != job.SourceREST || stored.Owner != "alice" || stored.Webhook != req.Webhook.URL || len(stored.WebhookEvents) != 1 || stored.RequestHash == "" {
		t.Errorf("stored %+v, %v", stored, err)
	}
	again, replayed, err := e.svc.SubmitJob(ctx, "alice", req, "key-1")
	if err != nil || !replayed || again.ID != j.ID {
		t.Errorf("replay: %s replayed=%v %v", again.ID, replayed, err)
	}
	other := req
	other.Priority = 4
	var ce *gateway.ConflictError
	if _, _, err := e.svc.SubmitJob(ctx, "alice", other, "key-1"); !errors.As(err, &ce) {
		t.Errorf("another body under the key: err = %v, want a ConflictError", err)
	}
	if plain, _, err := e.svc.SubmitJob(ctx, "alice", api.SubmitJobRequest{Prompt: tinyPrompt}, ""); err != nil || plain.QueuePosition == nil || *plain.QueuePosition != 1 {
		t.Errorf("second job: %+v %v; want position 1 behind the priority-3 job", plain, err)
	}
}

// TestGatewayStreamEndsWithTheJob: the REST stream renders the domain's
// events, and a terminal one carries the final job.
func TestGatewayStreamEndsWithTheJob(t *testing.T) {
	e := newGatewayEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	j, _, err := e.svc.SubmitJob(ctx, "alice", api.SubmitJobRequest{Prompt: tinyPrompt}, "")
	if err != nil {
		t.Fatal(err)
	}
	st, err := e.svc.SubscribeJob(ctx, "alice", j.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if ev := <-st.Events(); ev.Type != api.EventQueued || ev.ID != "1" || string(ev.Data) != `{"position":0}` {
		t.Fatalf("first event %+v", ev)
	}
	for _, to := range []job.State{job.StateDispatched, job.StateRunning, job.StateSucceeded} {
		_, ev, err := e.store.UpdateJobWithEvent(ctx, j.ID, func(j *job.Job) (*job.Event, error) {
			typ := map[job.State]string{job.StateDispatched: job.EventDispatched, job.StateRunning: job.EventStarted, job.StateSucceeded: job.EventSucceeded}[to]
			return job.NewEvent(typ, nil), j.TransitionTo(to, time.Now())
		})
		if err != nil {
			t.Fatal(err)
		}
		e.hub.Publish(events.FromStore("alice", *ev))
	}
	var last api.Event
	for ev := range st.Events() {
		last = ev
	}
	var final api.Job
	if err := json.Unmarshal(last.Data, &final); err != nil || last.Type != api.EventSucceeded || final.State != api.StateSucceeded ||
		final.ID != j.ID || final.Progress == nil || final.Progress.Fraction != 1 || final.QueuePosition != nil {
		t.Errorf("last event %s with %s (%v)", last.Type, last.Data, err)
	}
	if st.Err() != nil {
		t.Errorf("stream ended with %v", st.Err())
	}
	if _, err := e.svc.SubscribeJob(ctx, "bob", j.ID, ""); !errors.Is(err, gateway.ErrNotFound) {
		t.Errorf("bob subscribes to alice's job: %v", err)
	}
}

// TestGatewayViews: uploads, backends and workflows in their wire form.
func TestGatewayViews(t *testing.T) {
	e := newGatewayEnv(t, gateway.Backend{ID: "gpu-1", URL: "http://10.0.0.7:8188", State: "healthy", Running: "j1",
		Latency: 1500 * time.Microsecond, Devices: []comfy.Device{{Name: "cuda:0", Type: "cuda", VRAMTotal: 8, VRAMFree: 2}}})
	ctx := context.Background()
	up, err := e.svc.Upload(ctx, "alice", bytes.NewReader([]byte("GIF89a")), "../cat.gif", "")
	if err != nil || up.Filename != "cat.gif" || up.URL != "/v1/artifacts/"+up.ID || up.Size != 6 {
		t.Errorf("upload %+v %v", up, err)
	}
	bs, err := e.svc.Backends(ctx)
	if err != nil || len(bs) != 1 {
		t.Fatalf("backends %+v %v", bs, err)
	}
	if b := bs[0]; b.LatencyMS != 1.5 || len(b.Running) != 1 || b.Running[0] != "j1" || b.Prefetch == nil ||
		len(b.Devices) != 1 || b.Devices[0].VRAMFree != 2 {
		t.Errorf("backend view %+v", b)
	}
	w, created, err := e.svc.PutWorkflow(ctx, "", "tiny", tinyPrompt)
	if err != nil || !created || w.Name != "tiny" || w.Schema == nil || w.Params == nil {
		t.Errorf("workflow %+v created=%v %v", w, created, err)
	}
}
