package comfyapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/internal/artifact"
	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/gateway"
	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/workflow"
)

// miniFleet is a hand-written Fleet for this package's tests: one backend,
// one job at a time, in the store's dispatch order. It does what the real
// dispatcher does for the surface — claim, post with its own client id, tap
// every message to the surface, copy outputs, finalize with the history
// entry — with none of its resilience, so the surface can be tested on its
// own.
type miniFleet struct {
	store   job.Store
	arts    artifact.Store
	hub     *events.Hub
	client  *comfy.Client
	url     string
	catalog *workflow.Catalog
	tap     interface{ Message(string, comfy.Event) }

	wake   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex // guards running, interrupt
	running string
}

const miniClientID = "minifleet"

func startMiniFleet(tb testing.TB, store job.Store, arts artifact.Store, hub *events.Hub, url string) *miniFleet {
	tb.Helper()
	c, err := comfy.NewClient(url)
	if err != nil {
		tb.Fatal(err)
	}
	info, err := c.ObjectInfo(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	cat, err := workflow.NewCatalog(info)
	if err != nil {
		tb.Fatal(err)
	}
	return &miniFleet{store: store, arts: arts, hub: hub, client: c, url: url, catalog: cat, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// run starts dispatching; stop ends it.
func (f *miniFleet) run(tb testing.TB) {
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	w, err := comfy.StartWatcher(ctx, comfy.WatcherConfig{BaseURL: f.url, ClientID: miniClientID,
		Dial: comfy.DialOptions{FeatureFlags: comfy.FeatureFlags{comfy.FlagSupportsPreviewMetadata: true}}})
	if err != nil {
		tb.Fatal(err)
	}
	for ev := range w.Events() {
		if c, ok := ev.(comfy.ConnectionEvent); ok && c.State == comfy.StateConnected {
			break
		}
	}
	go func() {
		defer close(f.done)
		defer w.Close()
		f.loop(ctx, w)
	}()
}

func (f *miniFleet) stop() {
	f.cancel()
	<-f.done
}

func (f *miniFleet) loop(ctx context.Context, w *comfy.Watcher) {
	for {
		jobs, err := f.store.DispatchOrder(ctx, 1)
		if err == nil && len(jobs) > 0 {
			f.runJob(ctx, w, jobs[0].ID)
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-f.wake:
		}
	}
}

func (f *miniFleet) publish(j *job.Job, ev *job.Event) {
	if ev != nil {
		f.hub.Publish(events.FromStore(j.Owner, *ev))
	}
}

func (f *miniFleet) transition(ctx context.Context, id string, fn func(*job.Job) (string, any, error)) (*job.Job, error) {
	j, ev, err := f.store.UpdateJobWithEvent(ctx, id, func(j *job.Job) (*job.Event, error) {
		typ, data, err := fn(j)
		if err != nil {
			return nil, err
		}
		raw, _ := json.Marshal(data)
		return &job.Event{Type: typ, Data: raw}, nil
	})
	if err == nil {
		f.publish(j, ev)
	}
	return j, err
}

func (f *miniFleet) runJob(ctx context.Context, w *comfy.Watcher, id string) {
	j, err := f.transition(ctx, id, func(j *job.Job) (string, any, error) {
		if !j.State.Dispatchable() {
			return "", nil, job.ErrConflict
		}
		j.Backend = "sim-1"
		return job.EventDispatched, job.DispatchedData{Backend: "sim-1", Attempt: 1}, j.TransitionTo(job.StateDispatched, time.Now())
	})
	if err != nil {
		return
	}
	f.mu.Lock()
	f.running = id
	f.mu.Unlock()
	defer func() { f.mu.Lock(); f.running = ""; f.mu.Unlock() }()
	if err := f.stage(ctx, j.Graph); err != nil {
		f.end(ctx, id, job.StateFailed, nil, nil, &job.Error{Type: "input_missing", Message: err.Error()})
		return
	}
	_, err = f.client.QueuePrompt(ctx, comfy.PromptRequest{Prompt: j.Graph, ClientID: miniClientID, PromptID: id,
		ExtraData: j.ExtraData, PartialExecutionTargets: j.OutputNodes})
	if err != nil {
		f.end(ctx, id, job.StateFailed, nil, nil, &job.Error{Type: "invalid_prompt", Message: err.Error()})
		return
	}
	f.follow(ctx, w, id)
}

// stage uploads the artifacts the graph names as staged inputs.
func (f *miniFleet) stage(ctx context.Context, graph json.RawMessage) error {
	g, err := workflow.ParseGraph(graph, workflow.Limits{})
	if err != nil {
		return err
	}
	for _, n := range g {
		for _, v := range n.Inputs {
			s, _ := v.(string)
			id, _, ok := artifact.ParseStaged(s)
			if !ok {
				continue
			}
			b, err := f.arts.Open(ctx, id)
			if err != nil {
				return err
			}
			_, err = f.client.UploadImage(ctx, comfy.Upload{Name: strings.TrimPrefix(s, "comfygate/"), Body: b, Subfolder: "comfygate", Type: comfy.FileTypeInput})
			b.Close()
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func (f *miniFleet) follow(ctx context.Context, w *comfy.Watcher, id string) {
	for {
		var ev comfy.Event
		select {
		case <-ctx.Done():
			return
		case ev = <-w.Events():
		}
		f.tap.Message(id, ev)
		switch e := ev.(type) {
		case comfy.ExecutionStart:
			_, _ = f.transition(ctx, id, func(j *job.Job) (string, any, error) {
				return job.EventStarted, job.DispatchedData{Backend: "sim-1", Attempt: 1}, j.TransitionTo(job.StateRunning, time.Now())
			})
		case comfy.Executing:
			if e.Done() && e.PromptID == id {
				f.collect(ctx, id)
				return
			}
		}
	}
}

func (f *miniFleet) collect(ctx context.Context, id string) {
	entry, err := f.client.PromptHistory(ctx, id)
	if err != nil {
		f.end(ctx, id, job.StateFailed, nil, nil, &job.Error{Type: "backend_lost", Message: err.Error()})
		return
	}
	raw, _ := json.Marshal(entry)
	var outs []job.Output
	for node, out := range entry.Outputs {
		files, _ := comfy.NodeOutputFiles(out)
		for _, file := range files {
			resp, err := f.client.View(ctx, file.FileRef, comfy.ViewOptions{})
			if err != nil {
				continue
			}
			info, err := f.arts.Put(ctx, resp.Body, artifact.PutOptions{Name: file.Filename})
			resp.Body.Close()
			if err == nil {
				outs = append(outs, job.Output{ArtifactID: info.ID, NodeID: node, Kind: file.Kind, Filename: file.Filename,
					Subfolder: file.Subfolder, Type: file.Type, ContentType: info.ContentType, Size: info.Size})
			}
		}
	}
	switch entry.Status.Outcome() {
	case comfy.EventExecutionSuccess:
		f.end(ctx, id, job.StateSucceeded, raw, outs, nil)
	case comfy.EventExecutionInterrupted:
		f.end(ctx, id, job.StateCancelled, raw, outs, nil)
	default:
		f.end(ctx, id, job.StateFailed, raw, outs, &job.Error{Type: "execution_error", Message: "failed"})
	}
}

func (f *miniFleet) end(ctx context.Context, id string, st job.State, hist json.RawMessage, outs []job.Output, e *job.Error) {
	_, err := f.transition(ctx, id, func(j *job.Job) (string, any, error) {
		if j.State == job.StateDispatched && st != job.StateFailed {
			_ = j.TransitionTo(job.StateRunning, time.Now())
		}
		j.ComfyHistory, j.Outputs, j.Error = hist, outs, e
		return string(st), struct{}{}, j.TransitionTo(st, time.Now())
	})
	if err != nil && ctx.Err() == nil {
		panic(fmt.Sprintf("minifleet: end job %s: %v", id, err))
	}
}

// gateway.Fleet methods.

func (f *miniFleet) Enqueue(*job.Job) {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

func (f *miniFleet) Cancel(ctx context.Context, id string) (*job.Job, error) {
	j, err := f.transition(ctx, id, func(j *job.Job) (string, any, error) {
		if !j.State.Dispatchable() {
			return "", nil, job.ErrConflict
		}
		j.CancelRequested = true
		return job.EventCancelled, struct{}{}, j.TransitionTo(job.StateCancelled, time.Now())
	})
	if !errors.Is(err, job.ErrConflict) {
		return j, err
	}
	if j, err = f.store.UpdateJob(ctx, id, func(j *job.Job) error { j.CancelRequested = true; return nil }); err != nil {
		return nil, err
	}
	f.mu.Lock()
	running := f.running == id
	f.mu.Unlock()
	if running {
		return j, f.client.InterruptPrompt(ctx, id)
	}
	return j, nil
}

func (f *miniFleet) Catalog() *workflow.Catalog         { return f.catalog }
func (f *miniFleet) CheckRunnable(workflow.Graph) error { return nil }
func (f *miniFleet) Ready() bool                        { return true }
func (f *miniFleet) Backends() []gateway.Backend {
	return []gateway.Backend{{ID: "sim-1", URL: f.url, State: gateway.StateHealthy}}
}
