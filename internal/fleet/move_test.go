package fleet

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/comfygate/comfygate/comfy/comfysim"
	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/job"
)

// invertGraph is a tiny graph whose ImageInvert node a test can make slow
// (a class delay) without slowing the sampler of imageGraph.
func invertGraph(color int) json.RawMessage {
	return json.RawMessage(`{
	 "1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": ` + itoa(color) + `}},
	 "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
	 "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "inv"}}
	}`)
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestPrefetchedJobMoves: a job waiting in a busy backend's queue is taken
// back when another backend sits idle. The move races with the busy
// backend starting the job; each way the race can go is played by holding
// the move's delete request until the simulator got there.
func TestPrefetchedJobMoves(t *testing.T) {
	tests := []struct {
		name string
		// race runs while the delete is held; it lets the simulator
		// start (and maybe finish) the waiting job first.
		race func(a *gate, waiting string)
		// wantOn is where the waiting job must run, once.
		wantOn string
		moved  bool
	}{
		{
			name:   "not started yet: it moves to the idle backend",
			wantOn: "idle",
			moved:  true,
		},
		{
			name: "started before the delete landed: it stays and is followed there",
			race: func(a *gate, waiting string) {
				a.SetStepDelay(0) // the job in front ends; the waiting one starts (and sits in its slow node)
				pollFor(func() bool { q := a.queue(); return len(q.Running) == 1 && q.Running[0].PromptID == waiting })
			},
			wantOn: "busy",
		},
		{
			name: "finished before the delete landed: it is collected there",
			race: func(a *gate, waiting string) {
				a.SetStepDelay(0)
				a.SetClassDelay("ImageInvert", 0)
				pollFor(func() bool { return a.Stats().ExecutionsByPromptID[waiting] == 1 })
			},
			wantOn: "busy",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			busy := startGatedSim(t, comfysim.Options{StepDelay: 100 * time.Millisecond})
			busy.SetClassDelay("ImageInvert", time.Hour)
			idle := startSim(t, comfysim.Options{})
			cfg := testConfig(openStore(t, t.TempDir()), newRecHub(), newMemArtifacts(),
				backendOf("busy", busy.sim, 2), backendOf("idle", idle, 2))
			cfg.StallTimeout = time.Hour // this is about moving, not stalls
			e := startFleet(t, cfg)
			e.waitHealthy(t)
			if err := e.fleet.Drain("idle"); err != nil {
				t.Fatal(err)
			}
			front := e.submit(t, imageGraph(simCheckpoint, 1, 100)) // 10s unless sped up
			e.hub.waitFor(t, "the first job running", startedOn(front, "busy"))
			waiting := e.submit(t, invertGraph(7))
			waitUntil(t, "the second job waiting in the busy backend's queue", func() bool {
				q := busy.queue()
				return len(q.Pending) == 1 && q.Pending[0].PromptID == waiting
			})
			if tt.race != nil {
				var once sync.Once
				busy.before("POST /queue", func([]byte) { once.Do(func() { tt.race(busy, waiting) }) })
			}
			if err := e.fleet.Resume("idle"); err != nil { // now it idles while a job waits
				t.Fatal(err)
			}

			// Settled: moved and done, or started on the busy backend.
			onBusy := startedOn(waiting, "busy")
			e.hub.waitFor(t, "the waiting job to settle", func(evs []events.Event) bool {
				return onBusy(evs) || hasEvent(evs, waiting, job.EventSucceeded)
			})
			busy.SetStepDelay(0)
			busy.SetClassDelay("ImageInvert", 0)
			w := e.hub.waitTerminal(t, e.store, waiting)
			if w.State != job.StateSucceeded || w.Backend != tt.wantOn || w.Attempts != 1 || len(w.Outputs) != 1 {
				t.Errorf("waiting job: %s on %q, attempts %d, %d outputs (%v); want it on %q once",
					w.State, w.Backend, w.Attempts, len(w.Outputs), w.Error, tt.wantOn)
			}
			if got := hasEvent(e.hub.ofJob(waiting), waiting, job.EventQueued); got != tt.moved {
				t.Errorf("waiting job went back to the queue: %v, want %v", got, tt.moved)
			}
			f := e.hub.waitTerminal(t, e.store, front)
			if f.State != job.StateSucceeded || f.Backend != "busy" || f.Attempts != 1 {
				t.Errorf("first job: %s on %q after %d attempts (%v); it must not be disturbed", f.State, f.Backend, f.Attempts, f.Error)
			}
			for _, j := range []*job.Job{w, f} {
				if n := completions(t, j, busy.sim, idle); n != 1 {
					t.Errorf("job %s completed %d times", j.ID, n)
				}
			}
			if n := busy.Stats().ExecutionsByPromptID[waiting]; tt.moved && n != 0 {
				t.Errorf("moved job also ran %d times on the busy backend", n)
			}
		})
	}
}

// pollFor polls cond until it holds or waitTimeout passes, for goroutines
// that may not fail a test (the test then fails on what follows).
func pollFor(cond func() bool) bool {
	deadline := time.Now().Add(waitTimeout)
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		<-t.C
	}
	return true
}

// startedOn is a predicate: job id started on backend.
func startedOn(id, backend string) func([]events.Event) bool {
	return func(evs []events.Event) bool {
		for _, e := range evs {
			if e.JobID != id || e.Type != job.EventStarted {
				continue
			}
			var d job.DispatchedData
			if json.Unmarshal(e.Data, &d) == nil && d.Backend == backend {
				return true
			}
		}
		return false
	}
}
