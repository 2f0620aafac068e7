package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/comfy/comfysim"
)

// linkedVersion is the version buildBinary links into the command, as a
// release build sets it.
const linkedVersion = "v0.0.0-linked.test"

// binary builds the comfygate command once per test binary.
var binary = struct {
	once sync.Once
	dir  string
	path string
	err  error
}{}

func buildBinary(tb testing.TB) string {
	tb.Helper()
	binary.once.Do(func() {
		binary.dir, binary.err = os.MkdirTemp("", "comfygate-bin-")
		if binary.err != nil {
			return
		}
		binary.path = filepath.Join(binary.dir, "comfygate")
		out, err := exec.Command("go", "build", "-ldflags=-X main.version="+linkedVersion, "-o", binary.path, ".").CombinedOutput()
		if err != nil {
			binary.err = &buildError{err: err, out: string(out)}
		}
	})
	if binary.err != nil {
		tb.Fatalf("build comfygate: %v", binary.err)
	}
	return binary.path
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// process is comfygate running as a child process.
type process struct {
	URL    string
	cmd    *exec.Cmd
	stdout *lineBuffer
	stderr *lineBuffer
	waited chan struct{}
}

// startProcess starts the binary and waits for its listening line.
func startProcess(tb testing.TB, args ...string) *process {
	tb.Helper()
	return startProcessUntil(tb, listeningLine, args...)
}

// startProcessUntil starts the binary and waits for a line matching
// ready, whose first group is the URL it serves.
func startProcessUntil(tb testing.TB, ready *regexp.Regexp, args ...string) *process {
	tb.Helper()
	p := &process{cmd: exec.Command(buildBinary(tb), args...), stdout: newLineBuffer(), stderr: newLineBuffer(), waited: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.waited)
	}()
	tb.Cleanup(p.kill)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	go func() { // stop waiting for the line if the process dies first
		select {
		case <-p.waited:
			cancel()
		case <-ctx.Done():
		}
	}()
	m, err := p.stdout.waitMatch(ctx, ready)
	if err != nil {
		tb.Fatalf("comfygate did not start: %v\nstderr:\n%s", err, p.stderr)
	}
	p.URL = m[1]
	return p
}

// kill ends the process with SIGKILL, as a crash would, and reaps it.
func (p *process) kill() {
	_ = p.cmd.Process.Kill()
	<-p.waited
}

// TestCrashRecovery is the acceptance test of "a gateway crash loses
// nothing": with jobs running on the backend and others queued, the gateway
// is killed with SIGKILL and restarted on the same data directory. Every
// job must end succeeded, and the backend must have executed each exactly
// once: running jobs were re-attached, not re-run, and queued ones stayed
// queued.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	sim := comfysim.Start(t, comfysim.Options{StepDelay: 40 * time.Millisecond})
	dir := t.TempDir()
	args := []string{"serve", "--listen", "127.0.0.1:0", "--data", dir, "--backend", sim.URL(), "--log-level", "debug"}
	first := startProcess(t, args...)
	c := newAPIClient(t, first.URL)
	c.waitReady()
	c.must(http.StatusCreated, "PUT", "/v1/workflows/t2i", txt2imgGraph(t))
	var ids []string
	for i := range 6 {
		j := c.submit(api.SubmitJobRequest{Workflow: "t2i", Params: map[string]any{"seed": i, "steps": 8, "width": 64, "height": 64}})
		ids = append(ids, j.ID)
	}
	if !poll(func() bool { return countStates(c, ids)[api.StateRunning] > 0 }) {
		t.Fatalf("no job started: %v", countStates(c, ids))
	}
	before := countStates(c, ids)
	if before[api.StateQueued] == 0 {
		t.Fatalf("states before the crash %v: want some still queued", before)
	}
	t.Logf("states at the crash: %v", before)
	first.kill()

	second := startProcess(t, args...)
	c2 := newAPIClient(t, second.URL)
	for _, id := range ids {
		j := c2.waitJob(id, "it ends", func(j api.Job) bool { return j.State.Terminal() })
		if j.State != api.StateSucceeded || len(j.Outputs) == 0 {
			t.Errorf("job %s = %s with %d outputs (error %+v), want succeeded", id, j.State, len(j.Outputs), j.Error)
		}
	}
	runs := simStats(t, c2, sim.URL()).ExecutionsByPromptID
	for _, id := range ids {
		if runs[id] != 1 {
			t.Errorf("job %s executed %d times on the backend, want exactly once (states before the crash: %v)", id, runs[id], before)
		}
	}
	if t.Failed() {
		t.Logf("second gateway's log:\n%s", second.stderr)
	}
}

func countStates(c *apiClient, ids []string) map[api.JobState]int {
	n := map[api.JobState]int{}
	for _, id := range ids {
		n[c.job(id).State]++
	}
	return n
}

// simStats reads the simulator's counters over HTTP, as the acceptance
// test in the issue does.
func simStats(tb testing.TB, c *apiClient, simURL string) comfysim.Stats {
	tb.Helper()
	resp, err := c.http.Get(simURL + "/sim/stats")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var st comfysim.Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		tb.Fatal(err)
	}
	return st
}
