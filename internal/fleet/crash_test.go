package fleet

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/comfy/comfysim"
	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/job"
)

// crashClass is the node class whose start kills the simulators of these
// tests (comfysim's crash_node): invertGraph uses it, imageGraph does not.
const crashClass = "ImageInvert"

// startCrashSims starts b0, b1 and b2, each dying when a crashClass node
// starts.
func startCrashSims(tb testing.TB) (map[string]*sim, []BackendConfig) {
	tb.Helper()
	sims := map[string]*sim{}
	var backends []BackendConfig
	for _, id := range []string{"b0", "b1", "b2"} {
		sims[id] = startSim(tb, comfysim.Options{CrashNode: crashClass})
		backends = append(backends, backendOf(id, sims[id], 2))
	}
	return sims, backends
}

// dead lists the simulators that crashed, by backend id.
func dead(sims map[string]*sim) []string {
	var out []string
	for id, s := range sims {
		select {
		case <-s.Crashed():
			out = append(out, id)
		default:
		}
	}
	slices.Sort(out)
	return out
}

// TestJobThatCrashesItsBackendsFails: a prompt that kills every backend it
// runs on is retried at most MaxCrashRetries times, then fails as a
// suspected crasher naming each backend it took down; the backend it never
// reached serves the next job.
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
			sims, backends := startCrashSims(t)
			cfg := testConfig(openStore(t, t.TempDir()), newRecHub(), newMemArtifacts(), backends...)
			cfg.MaxCrashRetries = tt.retries
			e := startFleet(t, cfg)
			id := e.submit(t, invertGraph(1))
			j := e.hub.waitTerminal(t, e.store, id)
			if j.State != job.StateFailed || j.Error == nil || j.Error.Type != ErrorSuspectedCrash || j.Attempts != tt.deaths {
				t.Fatalf("state %s attempts %d error %+v", j.State, j.Attempts, j.Error)
			}
			var took []string
			for _, a := range j.AttemptLog {
				if a.Outcome != outcomeBackendCrashed {
					t.Errorf("attempt %+v not charged with the death", a)
				}
				took = append(took, a.Backend)
			}
			if !strings.HasPrefix(j.Error.Message, "suspected of crashing its backends: "+joinNames(took)+" died while running it") {
				t.Errorf("error message %q does not name %v", j.Error.Message, took)
			}
			if got := dead(sims); len(got) != tt.deaths || !slices.Equal(got, slices.Sorted(slices.Values(took))) {
				t.Errorf("dead simulators %v, want exactly the %d it ran on: %v", got, tt.deaths, took)
			}
			next := e.hub.waitTerminal(t, e.store, e.submit(t, imageGraph(simCheckpoint, 2, 2)))
			if next.State != job.StateSucceeded || slices.Contains(took, next.Backend) {
				t.Errorf("next job: %s on %q (%v); the dead are %v", next.State, next.Backend, next.Error, took)
			}
		})
	}
}

// TestCrashCountSurvivesRestart: the deaths a job caused are counted from
// its durable attempt log, so a gateway restart between two deaths does
// not give it a fresh allowance.
func TestCrashCountSurvivesRestart(t *testing.T) {
	sims, backends := startCrashSims(t)
	dir, arts := t.TempDir(), newMemArtifacts()
	stA := openStore(t, dir)
	a := startFleet(t, testConfig(stA, newRecHub(), arts, backends...))
	a.waitHealthy(t)
	for _, id := range []string{"b1", "b2"} { // the first attempt lands on b0
		if err := a.fleet.Drain(id); err != nil {
			t.Fatal(err)
		}
	}
	id := a.submit(t, invertGraph(1))
	a.hub.waitFor(t, "the job to go back to the queue", func(evs []events.Event) bool { return hasEvent(evs, id, job.EventRetrying) })
	a.kill(t)
	stA.Close()
	if got := dead(sims); !slices.Equal(got, []string{"b0"}) {
		t.Fatalf("dead after the first attempt: %v", got)
	}

	stB := openStore(t, dir)
	startFleet(t, testConfig(stB, newRecHub(), arts, backends...))
	j := waitStoreTerminal(t, stB, id)
	if j.State != job.StateFailed || j.Error == nil || j.Error.Type != ErrorSuspectedCrash {
		t.Fatalf("after a restart and a second death: %s, %d attempts, error %+v", j.State, j.Attempts, j.Error)
	}
	// An attempt may also end without a death charged (a dispatch to b0
	// before its death was noticed fails to submit): count the deaths.
	var crashed []string
	for _, a := range j.AttemptLog {
		if a.Outcome == outcomeBackendCrashed {
			crashed = append(crashed, a.Backend)
		}
	}
	if len(crashed) != 2 || crashed[0] != "b0" {
		t.Fatalf("deaths charged %v (attempt log %+v), want b0 and one more", crashed, j.AttemptLog)
	}
	if want := joinNames(crashed); !strings.Contains(j.Error.Message, want) {
		t.Errorf("error %q does not name %s", j.Error.Message, want)
	}
	if got := dead(sims); len(got) != 2 {
		t.Errorf("dead simulators %v; the restart must not buy it a third", got)
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
