package fleet

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/comfy/comfysim"
	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/job"
)

// crashFleet is three simulated backends b0, b1, b2 under one fleet.
type crashFleet struct {
	*env
	sims map[string]*sim
}

func newCrashFleet(tb testing.TB, cfg func(*Config)) *crashFleet {
	tb.Helper()
	cf := &crashFleet{sims: map[string]*sim{}}
	var backends []BackendConfig
	for _, id := range []string{"b0", "b1", "b2"} {
		cf.sims[id] = startSim(tb, comfysim.Options{StepDelay: 20 * time.Millisecond})
		backends = append(backends, backendOf(id, cf.sims[id], 2))
	}
	c := testConfig(openStore(tb, tb.TempDir()), newRecHub(), newMemArtifacts(), backends...)
	if cfg != nil {
		cfg(&c)
	}
	cf.env = startFleet(tb, c)
	return cf
}

// crashWhereItRuns waits for attempt n of the job to start, crashes the
// backend it runs on (as a prompt that kills ComfyUI would) and returns
// that backend's id.
func (cf *crashFleet) crashWhereItRuns(tb testing.TB, id string, n int) string {
	tb.Helper()
	var on string
	cf.hub.waitFor(tb, "attempt to start", func(evs []events.Event) bool {
		for _, e := range evs {
			var d job.DispatchedData
			if e.JobID == id && e.Type == job.EventStarted && json.Unmarshal(e.Data, &d) == nil && d.Attempt == n {
				on = d.Backend
				return true
			}
		}
		return false
	})
	cf.sims[on].Crash()
	return on
}

// TestJobThatCrashesItsBackendsFails: a job whose backends die while they
// run it is retried at most MaxCrashRetries times, then fails as a
// suspected crasher naming each backend it took down; the backend it
// never reached serves the next job.
func TestJobThatCrashesItsBackendsFails(t *testing.T) {
	tests := []struct {
		name    string
		retries int // Config.MaxCrashRetries
		deaths  int // backends it takes down
	}{
		{"by default one retry, so two deaths", 0, 2},
		{"no retry: one death", NoCrashRetries, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cf := newCrashFleet(t, func(c *Config) { c.MaxCrashRetries = tt.retries })
			id := cf.submit(t, imageGraph(simCheckpoint, 1, 200))
			var took []string
			for n := 1; n <= tt.deaths; n++ {
				took = append(took, cf.crashWhereItRuns(t, id, n))
			}
			j := cf.hub.waitTerminal(t, cf.store, id)
			if j.State != job.StateFailed || j.Error == nil || j.Error.Type != ErrorSuspectedCrash || j.Attempts != tt.deaths {
				t.Fatalf("state %s attempts %d error %+v", j.State, j.Attempts, j.Error)
			}
			if !strings.HasPrefix(j.Error.Message, "suspected of crashing its backends: "+joinNames(took)+" died while running it") {
				t.Errorf("error message %q does not name %v", j.Error.Message, took)
			}
			for i, a := range j.AttemptLog {
				if a.Outcome != outcomeBackendCrashed || a.Backend != took[i] {
					t.Errorf("attempt %d: %+v", i+1, a)
				}
			}
			next := cf.hub.waitTerminal(t, cf.store, cf.submit(t, imageGraph(simCheckpoint, 2, 2)))
			if next.State != job.StateSucceeded || strings.Contains(strings.Join(took, " "), next.Backend) {
				t.Errorf("next job: %s on %q (%v); the dead were %v", next.State, next.Backend, next.Error, took)
			}
		})
	}
}

// TestCrashCountSurvivesRestart: the deaths a job caused are counted from
// its durable attempt log, so a gateway restart between two deaths does
// not give it a fresh allowance.
func TestCrashCountSurvivesRestart(t *testing.T) {
	sims := map[string]*sim{}
	var backends []BackendConfig
	for _, id := range []string{"b0", "b1", "b2"} {
		sims[id] = startSim(t, comfysim.Options{StepDelay: 20 * time.Millisecond})
		backends = append(backends, backendOf(id, sims[id], 2))
	}
	dir, arts := t.TempDir(), newMemArtifacts()
	stA := openStore(t, dir)
	a := startFleet(t, testConfig(stA, newRecHub(), arts, backends...))
	a.waitHealthy(t)
	for _, id := range []string{"b1", "b2"} { // the first attempt lands on b0
		if err := a.fleet.Drain(id); err != nil {
			t.Fatal(err)
		}
	}
	id := a.submit(t, imageGraph(simCheckpoint, 1, 200))
	first := (&crashFleet{env: a, sims: sims}).crashWhereItRuns(t, id, 1)
	a.hub.waitFor(t, "the job to go back to the queue", func(evs []events.Event) bool { return hasEvent(evs, id, job.EventRetrying) })
	a.kill(t)
	stA.Close()

	stB := openStore(t, dir)
	b := startFleet(t, testConfig(stB, newRecHub(), arts, backends...))
	second := (&crashFleet{env: b, sims: sims}).crashWhereItRuns(t, id, 2)
	j := waitStoreTerminal(t, stB, id)
	if j.State != job.StateFailed || j.Error == nil || j.Error.Type != ErrorSuspectedCrash {
		t.Fatalf("after a restart and a second death: %s, error %+v", j.State, j.Error)
	}
	if want := joinNames([]string{first, second}); !strings.Contains(j.Error.Message, want) {
		t.Errorf("error %q does not name %s", j.Error.Message, want)
	}
}

// TestDeathIsChargedToWhatRan: the death of a backend whose frames never
// reached us (a crash can swallow them, execution_start included) is
// charged to the prompt it ran, the oldest we gave it; the job waiting
// behind it is retried uncharged.
func TestDeathIsChargedToWhatRan(t *testing.T) {
	doomed := startSim(t, comfysim.Options{StepDelay: 20 * time.Millisecond})
	spare := startSim(t, comfysim.Options{})
	cfg := testConfig(openStore(t, t.TempDir()), newRecHub(), newMemArtifacts(), backendOf("doomed", doomed, 2), backendOf("spare", spare, 2))
	cfg.StallTimeout = time.Hour // nothing here may be judged silent
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.testDrop = func(b *Backend, ev comfy.Event) bool {
		_, conn := ev.(comfy.ConnectionEvent)
		return b.ID() == "doomed" && !conn
	}
	e := startFleetWith(t, f, cfg)
	e.waitHealthy(t)
	if err := e.fleet.Drain("spare"); err != nil {
		t.Fatal(err)
	}
	ran := e.submit(t, imageGraph(simCheckpoint, 1, 200))
	waitUntil(t, "the first job on doomed", func() bool { return doomed.Stats().PromptsReceived == 1 })
	waited := e.submit(t, imageGraph(simCheckpoint, 2, 2)) // queued behind it
	waitUntil(t, "one job running on doomed and one waiting", func() bool {
		q := simQueue(t, doomed)
		return len(q.Running) == 1 && q.Running[0].PromptID == ran && len(q.Pending) == 1
	})
	doomed.Crash()
	if err := e.fleet.Resume("spare"); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{ran: outcomeBackendCrashed, waited: outcomeBackendDown} {
		j := e.hub.waitTerminal(t, e.store, id)
		if j.State != job.StateSucceeded || j.Backend != "spare" || j.AttemptLog[0].Outcome != want {
			t.Errorf("job %s: %s on %q, log %+v; want first outcome %s", id, j.State, j.Backend, j.AttemptLog, want)
		}
	}
}

func TestJoinNames(t *testing.T) {
	tests := []struct {
		name  string
		names []string
		want  string
	}{
		{"none", nil, ""},
		{"one", []string{"a"}, "a"},
		{"two", []string{"a", "b"}, "a and b"},
		{"three", []string{"a", "b", "c"}, "a, b and c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := joinNames(tt.names); got != tt.want {
				t.Errorf("joinNames(%v) = %q, want %q", tt.names, got, tt.want)
			}
		})
	}
}
