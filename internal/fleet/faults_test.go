package fleet

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/comfy/comfysim"
	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/job"
)

func started(id string) func([]events.Event) bool {
	return func(evs []events.Event) bool { return hasEvent(evs, id, job.EventStarted) }
}

func TestBackendKilledMidRunRetriesElsewhere(t *testing.T) {
	doomed := startSim(t, comfysim.Options{StepDelay: 50 * time.Millisecond})
	spare := startSim(t, comfysim.Options{})
	e := newEnv(t, backendOf("doomed", doomed, 2), backendOf("spare", spare, 2))
	if err := e.fleet.Drain("spare"); err != nil { // make the job land on doomed
		t.Fatal(err)
	}
	id := e.submit(t, imageGraph(simCheckpoint, 1, 200))
	e.hub.waitFor(t, "job started", started(id))
	if err := e.fleet.Resume("spare"); err != nil {
		t.Fatal(err)
	}
	doomed.Crash()

	j := e.hub.waitTerminal(t, e.store, id)
	if j.State != job.StateSucceeded || j.Backend != "spare" || j.Attempts != 2 {
		t.Fatalf("state %s backend %q attempts %d error %v", j.State, j.Backend, j.Attempts, j.Error)
	}
	// It died while running the job: the death is charged to it.
	if got := j.AttemptLog[0]; got.Backend != "doomed" || got.Outcome != outcomeBackendCrashed {
		t.Errorf("first attempt = %+v", got)
	}
	if !hasEvent(e.hub.ofJob(id), id, job.EventRetrying) {
		t.Error("no retrying event")
	}
	waitUntil(t, "doomed marked down", func() bool { return e.fleet.Backends()[0].State == StateDown })
}

func TestBackendRejoinsAfterRestart(t *testing.T) {
	s := startSim(t, comfysim.Options{})
	e := newEnv(t, backendOf("gpu", s, 2))
	e.waitHealthy(t)
	s.Crash()
	waitUntil(t, "backend down", func() bool { return e.fleet.Backends()[0].State == StateDown })
	if e.fleet.Ready() {
		t.Error("Ready with the only backend down")
	}
	// The admin view says why and when, and shows no latency from before.
	st := e.fleet.Backends()[0]
	if st.LastError == "" || st.LastErrorAt.IsZero() || st.Latency != 0 {
		t.Errorf("down backend: last error %q at %v, latency %v; want a reason, a time and no latency", st.LastError, st.LastErrorAt, st.Latency)
	}
	restartSim(t, s.addr, comfysim.Options{})
	e.waitHealthy(t)
	j := e.hub.waitTerminal(t, e.store, e.submit(t, imageGraph(simCheckpoint, 1, 2)))
	if j.State != job.StateSucceeded {
		t.Fatalf("after rejoin: %s %v", j.State, j.Error)
	}
}

func TestSocketDropMidRunStillCompletes(t *testing.T) {
	s := startSim(t, comfysim.Options{StepDelay: 20 * time.Millisecond})
	e := newEnv(t, backendOf("gpu", s, 2))
	id := e.submit(t, imageGraph(simCheckpoint, 1, 30))
	e.hub.waitFor(t, "job started", started(id))
	s.CloseAllSockets()
	j := e.hub.waitTerminal(t, e.store, id)
	if j.State != job.StateSucceeded || len(j.Outputs) != 1 {
		t.Fatalf("state %s outputs %d error %v", j.State, len(j.Outputs), j.Error)
	}
	if got := executions(j, s); got != 1 {
		t.Errorf("executed %d times", got)
	}
}

// TestStallReconciles loses the end of a run on the socket: the stall
// timer must find the result in /history. A run that is merely long (and
// reports every step) must not be touched by the same timer.
func TestStallReconciles(t *testing.T) {
	s := startSim(t, comfysim.Options{StepDelay: 30 * time.Millisecond})
	cfg := testConfig(openStore(t, t.TempDir()), newRecHub(), newMemArtifacts(), backendOf("gpu", s, 2))
	cfg.StallTimeout = 600 * time.Millisecond
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.testDrop = func(_ *Backend, ev comfy.Event) bool {
		switch e := ev.(type) {
		case comfy.Executing:
			return e.Done()
		case comfy.ExecutionSuccess:
			return true
		}
		return false
	}
	e := startFleetWith(t, f, cfg)
	// 40 steps of 30ms: twice the stall timeout, yet never stalled,
	// because every step is reported.
	id := e.submit(t, imageGraph(simCheckpoint, 1, 40))
	j := e.hub.waitTerminal(t, e.store, id)
	if j.State != job.StateSucceeded || len(j.Outputs) != 1 {
		t.Fatalf("state %s outputs %d error %v", j.State, len(j.Outputs), j.Error)
	}
	if j.Attempts != 1 || executions(j, s) != 1 {
		t.Errorf("attempts %d executions %d", j.Attempts, executions(j, s))
	}
}

// TestLongRunThatKeepsTalkingIsNotStalled: a run many stall timeouts long
// is left alone as long as every silence (a slow node) is shorter than the
// stall timeout.
func TestLongRunThatKeepsTalkingIsNotStalled(t *testing.T) {
	s := startSim(t, comfysim.Options{NodeDelay: 300 * time.Millisecond})
	cfg := testConfig(openStore(t, t.TempDir()), newRecHub(), newMemArtifacts(), backendOf("gpu", s, 2))
	cfg.StallTimeout = time.Second // the run takes about 2s: 7 nodes of 300ms, each announced
	e := startFleet(t, cfg)
	id := e.submit(t, imageGraph(simCheckpoint, 1, 1))
	j := e.hub.waitTerminal(t, e.store, id)
	if j.State != job.StateSucceeded || j.Attempts != 1 || executions(j, s) != 1 {
		t.Fatalf("state %s attempts %d executions %d error %v", j.State, j.Attempts, executions(j, s), j.Error)
	}
}

// TestFleetSurvivesBackendKilledMidRun is the fleet's acceptance test: 3
// backends, 15 jobs, one backend killed while it runs a job. Every job
// succeeds, and each runs to completion exactly once on a surviving backend
// (a job whose result was collected is never run again).
func TestFleetSurvivesBackendKilledMidRun(t *testing.T) {
	opts := comfysim.Options{StepDelay: 5 * time.Millisecond}
	sims := []*sim{startSim(t, opts), startSim(t, opts), startSim(t, opts)}
	e := newEnv(t, backendOf("b0", sims[0], 2), backendOf("b1", sims[1], 2), backendOf("b2", sims[2], 2))
	e.waitHealthy(t)
	ids := make([]string, 15)
	for i := range ids {
		ids[i] = e.submit(t, imageGraph(simCheckpoint, i, 20))
	}
	// Kill b0 while it runs one of the jobs.
	var victim string
	e.hub.waitFor(t, "a job running on b0", func(evs []events.Event) bool {
		for _, ev := range evs {
			if ev.Type == job.EventStarted && strings.Contains(string(ev.Data), `"b0"`) {
				victim = ev.JobID
				return true
			}
		}
		return false
	})
	sims[0].Crash()

	for _, id := range ids {
		j := e.hub.waitTerminal(t, e.store, id)
		if j.State != job.StateSucceeded {
			t.Errorf("job %s: %s after %d attempts (%v)", id, j.State, j.Attempts, j.Error)
			continue
		}
		if n := executions(j, sims[1], sims[2]); j.Backend != "b0" && n != 1 {
			t.Errorf("job %s ran %d times on the surviving backends, want 1", id, n)
		}
	}
	if j, _ := e.store.GetJob(t.Context(), victim); j.Attempts < 2 || j.Backend == "b0" {
		t.Errorf("killed job: backend %q attempts %d; want a retry elsewhere", j.Backend, j.Attempts)
	}
}

// TestFailureReasons: what the backend view says about a failure names the
// problem without the resolver's address or other internals.
func TestFailureReasons(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"dns", &url.Error{Op: "Get", URL: "http://gpu-1:8188/system_stats", Err: &net.OpError{Op: "dial", Net: "tcp",
			Err: &net.DNSError{Err: "no such host", Name: "gpu-1", Server: "10.0.0.53:53", IsNotFound: true}}}, "cannot resolve gpu-1: no such host"},
		{"refused", &url.Error{Op: "Get", URL: "http://127.0.0.1:1/system_stats", Err: &net.OpError{Op: "dial", Net: "tcp",
			Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}}, "connection refused"},
		{"timeout", fmt.Errorf("probe: %w", context.DeadlineExceeded), "timed out"},
		{"status", &comfy.HTTPError{Method: "GET", Path: "/system_stats", Status: 500, Body: "boom"}, "GET /system_stats answered 500"},
		{"none", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := publicReason(tc.err)
			if got != tc.want {
				t.Errorf("publicReason = %q, want %q", got, tc.want)
			}
			if strings.Contains(got, "10.0.0.53") {
				t.Errorf("the resolver's address leaked: %q", got)
			}
		})
	}
}
