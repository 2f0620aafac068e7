package fleet

import (
	"context"
	"testing"
	"time"

	"github.com/comfygate/comfygate/comfy/comfysim"
	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/job"
)

// TestCrashRecoveryRunsEachJobOnce kills a fleet mid-run (no drain, no
// graceful finish) and starts another on the same store: every job must
// end succeeded, and the simulators must have executed each exactly once.
func TestCrashRecoveryRunsEachJobOnce(t *testing.T) {
	tests := []struct {
		name      string
		instanceB string
	}{
		{"restart with the same instance id re-attaches at once", "one"},
		{"another replica takes over after the leases lapse", "two"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s1 := startSim(t, comfysim.Options{StepDelay: 10 * time.Millisecond})
			s2 := startSim(t, comfysim.Options{StepDelay: 10 * time.Millisecond})
			backends := []BackendConfig{backendOf("s1", s1, 2), backendOf("s2", s2, 2)}
			dir, arts := t.TempDir(), newMemArtifacts()

			stA := openStore(t, dir)
			cfgA := testConfig(stA, newRecHub(), arts, backends...)
			cfgA.InstanceID, cfgA.LeaseTTL = "one", time.Second
			a := startFleet(t, cfgA)
			var ids []string
			for i := range 10 {
				ids = append(ids, a.submit(t, imageGraph(simCheckpoint, i, 15)))
			}
			a.hub.waitFor(t, "two jobs running", func(evs []events.Event) bool {
				n := 0
				for _, e := range evs {
					if e.Type == job.EventStarted {
						n++
					}
				}
				return n >= 2
			})
			a.kill(t)
			stA.Close()

			stB := openStore(t, dir)
			cfgB := testConfig(stB, newRecHub(), arts, backends...)
			cfgB.InstanceID, cfgB.LeaseTTL = tt.instanceB, time.Second
			startFleet(t, cfgB)
			for _, id := range ids {
				j := waitStoreTerminal(t, stB, id)
				if j.State != job.StateSucceeded || len(j.Outputs) != 1 {
					t.Errorf("job %s: %s, %d outputs, error %v", id, j.State, len(j.Outputs), j.Error)
				}
				if n := executions(j, s1, s2); n != 1 {
					t.Errorf("job %s executed %d times (attempts %+v)", id, n, j.AttemptLog)
				}
			}
		})
	}
}

// waitStoreTerminal polls the store until the job ends.
func waitStoreTerminal(tb testing.TB, st job.Store, id string) *job.Job {
	tb.Helper()
	var j *job.Job
	waitUntil(tb, "job "+id+" to end", func() bool {
		var err error
		j, err = st.GetJob(context.Background(), id)
		return err == nil && j.State.Terminal()
	})
	return j
}

// TestRecoveryOfJobLostByBackend: the backend restarted while the gateway
// was down, so a job bound to it is in neither its queue nor its history;
// it must be retried, once.
func TestRecoveryOfJobLostByBackend(t *testing.T) {
	s := startSim(t, comfysim.Options{StepDelay: 20 * time.Millisecond})
	dir, arts := t.TempDir(), newMemArtifacts()
	stA := openStore(t, dir)
	cfgA := testConfig(stA, newRecHub(), arts, backendOf("gpu", s, 2))
	a := startFleet(t, cfgA)
	id := a.submit(t, imageGraph(simCheckpoint, 1, 100))
	a.hub.waitFor(t, "job started", started(id))
	a.kill(t)
	stA.Close()
	s.Crash()
	fresh := restartSim(t, s.addr, comfysim.Options{})

	stB := openStore(t, dir)
	startFleet(t, testConfig(stB, newRecHub(), arts, backendOf("gpu", fresh, 2)))
	j := waitStoreTerminal(t, stB, id)
	if j.State != job.StateSucceeded || j.Attempts != 2 || j.AttemptLog[0].Outcome != outcomeBackendLost {
		t.Fatalf("state %s attempts %d log %+v error %v", j.State, j.Attempts, j.AttemptLog, j.Error)
	}
	if n := executions(j, fresh); n != 1 {
		t.Errorf("executed %d times on the restarted backend", n)
	}
}

// TestGracefulStopHandsJobsOver: a fleet stopped gracefully leaves its
// running jobs to the next one at once, lease or not.
func TestGracefulStopHandsJobsOver(t *testing.T) {
	s := startSim(t, comfysim.Options{StepDelay: 20 * time.Millisecond})
	dir, arts := t.TempDir(), newMemArtifacts()
	st := openStore(t, dir)
	cfgA := testConfig(st, newRecHub(), arts, backendOf("gpu", s, 2))
	cfgA.InstanceID, cfgA.LeaseTTL = "a", time.Hour
	a := startFleet(t, cfgA)
	id := a.submit(t, imageGraph(simCheckpoint, 1, 100))
	a.hub.waitFor(t, "job started", started(id))
	a.stop(t)

	cfgB := testConfig(st, newRecHub(), arts, backendOf("gpu", s, 2))
	cfgB.InstanceID, cfgB.LeaseTTL = "b", time.Hour
	startFleet(t, cfgB)
	s.SetStepDelay(0)
	j := waitStoreTerminal(t, st, id)
	if j.State != job.StateSucceeded || j.Attempts != 1 || executions(j, s) != 1 {
		t.Fatalf("state %s attempts %d executions %d error %v", j.State, j.Attempts, executions(j, s), j.Error)
	}
}
