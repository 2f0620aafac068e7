package fleet

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/comfy/comfysim"
	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/job"
)

// TestHungBackendHandsOverItsJobs hangs one of two backends while it runs
// a job and holds another in its queue. With StallTimeout 5s, the running
// job is interrupted there and retried, the waiting one is moved, the hung
// backend takes nothing new, and all 8 jobs succeed, each completed exactly
// once. When the backend comes back, the interrupted prompt ends there as
// interrupted (never as a second success) and the backend takes jobs again.
func TestHungBackendHandsOverItsJobs(t *testing.T) {
	opts := comfysim.Options{StepDelay: 40 * time.Millisecond}
	hung, good := startSim(t, opts), startSim(t, opts)
	e := newEnv(t, backendOf("hung", hung, 2), backendOf("good", good, 2))
	if e.fleet.cfg.StallTimeout != 5*time.Second {
		t.Fatalf("StallTimeout %s; this test is about 5s", e.fleet.cfg.StallTimeout)
	}
	e.waitHealthy(t)
	ids := make([]string, 8)
	for i := range ids {
		ids[i] = e.submit(t, imageGraph(simCheckpoint, i, 25)) // about 1s each
	}
	running, waiting := hangWhileBusy(t, e, hung)

	var jobs []*job.Job
	for _, id := range ids {
		j := e.hub.waitTerminal(t, e.store, id)
		if j.State != job.StateSucceeded || j.Backend != "good" {
			t.Errorf("job %s: %s on %q after %d attempts (%v)", id, j.State, j.Backend, j.Attempts, j.Error)
		}
		jobs = append(jobs, j)
	}
	for _, b := range e.fleet.Backends() {
		if b.ID == "hung" && (b.State != StateDegraded || !strings.HasPrefix(b.LastError, "stalled: ")) {
			t.Errorf("hung backend: %s, last error %q; want degraded, stalled", b.State, b.LastError)
		}
	}
	r, _ := e.store.GetJob(t.Context(), running)
	if r.Attempts != 2 || r.AttemptLog[0].Backend != "hung" || r.AttemptLog[0].Outcome != outcomeStalled {
		t.Errorf("stalled job: attempts %d, log %+v", r.Attempts, r.AttemptLog)
	}
	w, _ := e.store.GetJob(t.Context(), waiting)
	if w.Attempts != 1 || len(w.AttemptLog) != 1 || w.AttemptLog[0].Backend != "good" {
		t.Errorf("moved job: attempts %d, log %+v; the move must not count as an attempt", w.Attempts, w.AttemptLog)
	}
	if !hasEvent(e.hub.ofJob(waiting), waiting, job.EventQueued) {
		t.Error("the moved job published no queued event")
	}

	// The backend comes back: the stalled prompt ends interrupted there,
	// the moved one never runs there, and it takes jobs again.
	hung.SetClassDelay("VAEDecode", 0)
	hung.SetHang(false)
	waitUntil(t, "the interrupted prompt to end on the hung backend", func() bool {
		return hung.Stats().PromptsInterrupted == 1
	})
	e.waitHealthy(t)
	for _, j := range jobs {
		if n := completions(t, j, hung, good); n != 1 {
			t.Errorf("job %s completed %d times", j.ID, n)
		}
	}
	if got := hung.Stats().ExecutionsByPromptID; len(got) != 1 || got[running] != 1 {
		t.Errorf("hung backend executed %v; want only the interrupted prompt of %s", got, running)
	}
	if err := e.fleet.Drain("good"); err != nil {
		t.Fatal(err)
	}
	if j := e.hub.waitTerminal(t, e.store, e.submit(t, imageGraph(simCheckpoint, 100, 2))); j.State != job.StateSucceeded || j.Backend != "hung" {
		t.Errorf("after it answered again: %s on %q (%v)", j.State, j.Backend, j.Error)
	}
}

// hangWhileBusy hangs s while it runs one of our jobs and holds another in
// its queue, and returns both prompt ids. The hang takes hold at the next
// node start or sampler step; to be sure there is one, the running job is
// caught in a VAEDecode made to take 3s (less than the stall timeout), with
// SaveImage still ahead. Should the test be too slow to hang it within
// those 3s, it lets s go and tries again.
func hangWhileBusy(tb testing.TB, e *env, s *sim) (running, waiting string) {
	tb.Helper()
	s.SetClassDelay("VAEDecode", 3*time.Second)
	tb.Cleanup(func() { s.SetClassDelay("VAEDecode", 0) })
	for range 10 {
		waitUntil(tb, "a job decoding on the backend and one waiting", func() bool {
			q := simQueue(tb, s)
			return len(q.Running) == 1 && len(q.Pending) == 1 && nodeStarted(e.hub.ofJob(q.Running[0].PromptID), "8")
		})
		before := simQueue(tb, s)
		s.SetHang(true)
		q := simQueue(tb, s)
		if len(q.Running) == 1 && len(q.Pending) == 1 && q.Running[0].PromptID == before.Running[0].PromptID {
			return q.Running[0].PromptID, q.Pending[0].PromptID
		}
		s.SetHang(false)
	}
	tb.Fatal("could not hang the backend while it was busy")
	return "", ""
}

// nodeStarted reports whether evs tell that node started.
func nodeStarted(evs []events.Event, node string) bool {
	for _, e := range evs {
		var d job.NodeData
		if e.Type == job.EventNode && json.Unmarshal(e.Data, &d) == nil && d.Node == node {
			return true
		}
	}
	return false
}

// simQueue reads a simulator's /queue.
func simQueue(tb testing.TB, s *sim) comfy.QueueStatus {
	tb.Helper()
	q, err := simClient(tb, s).Queue(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return q
}

func simClient(tb testing.TB, s *sim) *comfy.Client {
	tb.Helper()
	c, err := comfy.NewClient(s.url)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// completions counts the runs of any attempt of j that the simulators
// carried to a successful end (an interrupted run is not one).
func completions(tb testing.TB, j *job.Job, sims ...*sim) int {
	tb.Helper()
	n := 0
	for _, s := range sims {
		runs := s.Stats().ExecutionsByPromptID
		for a := 1; a <= max(j.Attempts, 1); a++ {
			pid := promptIDFor(j.ID, a)
			if runs[pid] == 0 {
				continue
			}
			entry, err := simClient(tb, s).PromptHistory(context.Background(), pid)
			if err != nil {
				tb.Fatalf("history of %s: %v", pid, err)
			}
			if entry.Status.Outcome() == comfy.EventExecutionInterrupted && runs[pid] == 1 {
				continue
			}
			n += runs[pid]
		}
	}
	return n
}

// TestWaitingJobStaysWhenRemovalCannotBeConfirmed: a job waiting on a
// stalled backend whose delete fails is not moved (nothing may run twice);
// once the delete goes through, it moves.
func TestWaitingJobStaysWhenRemovalCannotBeConfirmed(t *testing.T) {
	hung := startGatedSim(t, comfysim.Options{StepDelay: 40 * time.Millisecond})
	good := startSim(t, comfysim.Options{})
	cfg := testConfig(openStore(t, t.TempDir()), newRecHub(), newMemArtifacts(),
		backendOf("hung", hung.sim, 2), backendOf("good", good, 2))
	e := startFleet(t, cfg)
	e.waitHealthy(t)
	if err := e.fleet.Drain("good"); err != nil {
		t.Fatal(err)
	}
	e.submit(t, imageGraph(simCheckpoint, 1, 25))
	e.submit(t, imageGraph(simCheckpoint, 2, 25))
	first, second := hangWhileBusy(t, e, hung.sim) // running, waiting
	// Deletes fail from now on: the removal cannot be confirmed.
	hung.refuse("POST /queue")
	if err := e.fleet.Resume("good"); err != nil {
		t.Fatal(err)
	}
	// The stalled job moves (its interrupt goes through); the waiting one
	// cannot be confirmed off the hung backend, so it stays there.
	j := e.hub.waitTerminal(t, e.store, first)
	if j.State != job.StateSucceeded || j.Backend != "good" || j.AttemptLog[0].Outcome != outcomeStalled {
		t.Fatalf("stalled job: %s on %q, log %+v (%v)", j.State, j.Backend, j.AttemptLog, j.Error)
	}
	waitUntil(t, "the fleet to try to move the waiting job twice", func() bool { return hung.refused() >= 2 })
	if w, _ := e.store.GetJob(t.Context(), second); w.State != job.StateDispatched || w.Backend != "hung" {
		t.Fatalf("waiting job moved without a confirmed removal: %s on %q", w.State, w.Backend)
	}
	// Once removal works, it moves.
	hung.refuse("")
	w := e.hub.waitTerminal(t, e.store, second)
	if w.State != job.StateSucceeded || w.Backend != "good" || w.Attempts != 1 {
		t.Fatalf("waiting job: %s on %q after %d attempts (%v)", w.State, w.Backend, w.Attempts, w.Error)
	}
	hung.SetHang(false)
	waitUntil(t, "the hung backend to settle", func() bool { return hung.Stats().PromptsInterrupted == 1 })
	if n := hung.Stats().ExecutionsByPromptID[second]; n != 0 {
		t.Errorf("moved job ran %d times on the hung backend", n)
	}
}

// TestJobWaitingOnAStuckBackendMoves: a backend whose worker is stuck with
// nothing of ours running (between prompts, or on another client's
// prompt) never starts the job it was given; after the stall timeout the
// job moves to a backend that can start it, uncounted, and never runs on
// the stuck one.
func TestJobWaitingOnAStuckBackendMoves(t *testing.T) {
	stuck, good := startSim(t, comfysim.Options{}), startSim(t, comfysim.Options{})
	cfg := testConfig(openStore(t, t.TempDir()), newRecHub(), newMemArtifacts(), backendOf("stuck", stuck, 2), backendOf("good", good, 2))
	cfg.StallTimeout = 2 * time.Second
	e := startFleet(t, cfg)
	e.waitHealthy(t)
	if err := e.fleet.Drain("good"); err != nil {
		t.Fatal(err)
	}
	stuck.SetHang(true) // its worker stops before taking the next prompt
	id := e.submit(t, imageGraph(simCheckpoint, 1, 2))
	waitUntil(t, "the job waiting on the stuck backend", func() bool { return len(simQueue(t, stuck).Pending) == 1 })
	if err := e.fleet.Resume("good"); err != nil {
		t.Fatal(err)
	}
	j := e.hub.waitTerminal(t, e.store, id)
	if j.State != job.StateSucceeded || j.Backend != "good" || j.Attempts != 1 || !hasEvent(e.hub.ofJob(id), id, job.EventQueued) {
		t.Fatalf("job: %s on %q after %d attempts (%v); want it moved to good", j.State, j.Backend, j.Attempts, j.Error)
	}
	stuck.SetHang(false)
	e.waitHealthy(t)
	if n := stuck.Stats().PromptsExecuted; n != 0 {
		t.Errorf("the stuck backend ran %d prompts after it came back; the moved job must not be one", n)
	}
}
