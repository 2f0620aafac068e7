package fleet

import (
	"context"
	"testing"
	"time"

	"github.com/comfygate/comfygate/comfy/comfysim"
	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/job"
)

func TestCancelQueued(t *testing.T) {
	s := startSim(t, comfysim.Options{})
	e := newEnv(t, backendOf("gpu", s, 2))
	if err := e.fleet.Drain("gpu"); err != nil { // nothing may be dispatched
		t.Fatal(err)
	}
	id := e.submit(t, imageGraph(simCheckpoint, 1, 2))
	waitUntil(t, "job in the queue view", func() bool { _, ok := e.fleet.QueuePosition(id); return ok })
	j, err := e.fleet.Cancel(context.Background(), id)
	if err != nil || j.State != job.StateCancelled {
		t.Fatalf("Cancel = %+v, %v", j, err)
	}
	if _, ok := e.fleet.QueuePosition(id); ok {
		t.Error("a cancelled job is still in the queue view")
	}
	if err := e.fleet.Resume("gpu"); err != nil {
		t.Fatal(err)
	}
	// A later job runs; the cancelled one never reached the backend.
	next := e.hub.waitTerminal(t, e.store, e.submit(t, imageGraph(simCheckpoint, 2, 2)))
	if next.State != job.StateSucceeded {
		t.Fatalf("next job: %s %v", next.State, next.Error)
	}
	if got := executions(j, s); got != 0 {
		t.Errorf("cancelled job executed %d times", got)
	}
}

func TestCancelWhileWaitingInComfyQueue(t *testing.T) {
	s := startSim(t, comfysim.Options{StepDelay: 50 * time.Millisecond})
	e := newEnv(t, backendOf("gpu", s, 2))
	e.waitHealthy(t)
	long := e.submit(t, imageGraph(simCheckpoint, 1, 200)) // ~10s: holds the worker
	e.hub.waitFor(t, "long job started", func(evs []events.Event) bool { return hasEvent(evs, long, job.EventStarted) })
	waiting := e.submit(t, imageGraph(simCheckpoint, 2, 2))
	waitUntil(t, "second job in ComfyUI's queue", func() bool { return s.Stats().PromptsReceived == 2 })

	j, err := e.fleet.Cancel(context.Background(), waiting)
	if err != nil || j.State != job.StateCancelled {
		t.Fatalf("Cancel = %+v, %v", j, err)
	}
	s.SetStepDelay(0)
	if lj := e.hub.waitTerminal(t, e.store, long); lj.State != job.StateSucceeded {
		t.Errorf("long job: %s %v", lj.State, lj.Error)
	}
	if got := executions(j, s); got != 0 {
		t.Errorf("job deleted from ComfyUI's queue executed %d times", got)
	}
}

func TestCancelRunning(t *testing.T) {
	s := startSim(t, comfysim.Options{StepDelay: 50 * time.Millisecond})
	e := newEnv(t, backendOf("gpu", s, 2))
	id := e.submit(t, imageGraph(simCheckpoint, 1, 200))
	e.hub.waitFor(t, "job started", func(evs []events.Event) bool { return hasEvent(evs, id, job.EventStarted) })

	j, err := e.fleet.Cancel(context.Background(), id)
	if err != nil || !j.CancelRequested || j.State.Terminal() && j.State != job.StateCancelled {
		t.Fatalf("Cancel = %+v, %v", j, err)
	}
	j = e.hub.waitTerminal(t, e.store, id)
	if j.State != job.StateCancelled {
		t.Errorf("state = %s (%v), want cancelled", j.State, j.Error)
	}
	if s.Stats().PromptsInterrupted != 1 {
		t.Errorf("the backend did not interrupt the run: %+v", s.Stats())
	}
}

func TestCancelTerminalIsNoop(t *testing.T) {
	s := startSim(t, comfysim.Options{})
	e := newEnv(t, backendOf("gpu", s, 2))
	id := e.submit(t, imageGraph(simCheckpoint, 1, 2))
	done := e.hub.waitTerminal(t, e.store, id)
	j, err := e.fleet.Cancel(context.Background(), id)
	if err != nil || j.State != job.StateSucceeded || j.EventSeq != done.EventSeq {
		t.Fatalf("Cancel of a finished job = %+v, %v", j, err)
	}
}
