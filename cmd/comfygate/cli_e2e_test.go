package main

import (
	"context"
	"encoding/json"
	"errors"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/comfy/comfysim"
)

// startCLIStack starts a simulator and `comfygate serve` in front of it,
// waits until the backend is healthy and stores the txt2img example with
// `comfygate workflows put` (parameters detected by the gateway). It returns the gateway's URL.
func startCLIStack(t *testing.T, opts comfysim.Options) (string, *comfysim.Server) {
	t.Helper()
	sim := comfysim.Start(t, opts)
	g := startRun(t, "serve", "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--backend", sim.URL())
	waitHealthy(t, g.URL)
	mustCLI(t, "workflows", "put", "txt2img", filepath.Join("testdata", "txt2img_api.json"), "--server", g.URL)
	return g.URL, sim
}

// waitHealthy asks `backends list` until a backend is healthy. The pause
// between asks only saves CPU; nothing depends on its length.
func waitHealthy(tb testing.TB, url string) {
	tb.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		var list api.BackendList
		r := runCLI(tb, "backends", "--json", "--server", url)
		if r.err == nil && json.Unmarshal([]byte(r.stdout), &list) == nil &&
			slices.ContainsFunc(list.Backends, func(b api.Backend) bool { return b.State == "healthy" }) {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("no healthy backend: %v\n%s", r.err, r.stdout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var submittedRE = regexp.MustCompile(`submitted job (\S+)\n`)

// durableLines keeps the progress lines of durable events, without times.
func durableLines(stderr string) []string {
	var out []string
	for line := range strings.Lines(stderr) {
		_, rest, ok := strings.Cut(strings.TrimSpace(line), "] ")
		if !ok {
			continue
		}
		for _, p := range []string{"queued", "dispatched to", "started on", "output of node", "succeeded", "failed", "cancelled"} {
			if strings.HasPrefix(rest, p) {
				out = append(out, p)
				break
			}
		}
	}
	return slices.Compact(out) // queued repeats as the position changes
}

func TestCLIEndToEnd(t *testing.T) {
	url, sim := startCLIStack(t, comfysim.Options{})

	t.Run("run saves the images", func(t *testing.T) {
		out := t.TempDir()
		r := mustCLI(t, "run", "txt2img", "-p", "prompt=a lighthouse at dusk", "-p", "seed=18446744073709551615",
			"-p", "steps=2", "-p", "width=320", "-p", "height=256", "--out", out, "--server", url)
		paths := strings.Fields(r.stdout)
		if len(paths) == 0 {
			t.Fatalf("no saved paths on stdout; stderr:\n%s", r.stderr)
		}
		for _, p := range paths {
			checkSavedPNG(t, out, p, 320, 256)
		}
		want := []string{"queued", "dispatched to", "started on", "output of node", "succeeded"}
		if got := durableLines(r.stderr); !slices.Equal(got, want) {
			t.Errorf("progress lines %v, want %v; stderr:\n%s", got, want, r.stderr)
		}
		id := submittedRE.FindStringSubmatch(r.stderr)
		if id == nil {
			t.Fatalf("no job id on stderr:\n%s", r.stderr)
		}
		list := mustCLI(t, "jobs", "list", "--state", "succeeded", "--server", url).stdout
		if !strings.Contains(list, id[1]) || !strings.Contains(list, "txt2img") {
			t.Errorf("jobs list lacks the job %s:\n%s", id[1], list)
		}
	})

	t.Run("a prompt of digits is text", func(t *testing.T) {
		r := mustCLI(t, "run", "txt2img", "-p", "prompt=1984", "-p", "steps=1", "-p", "width=64", "-p", "height=64",
			"--out", t.TempDir(), "--json", "--server", url)
		var res runResult
		if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
			t.Fatalf("stdout is not the JSON result: %v\n%s", err, r.stdout)
		}
		var params map[string]any
		if err := json.Unmarshal(res.Job.Params, &params); err != nil || params["prompt"] != "1984" {
			t.Errorf("job params %s (%v), want prompt \"1984\" as text", res.Job.Params, err)
		}
	})

	t.Run("the server's error is said once", func(t *testing.T) {
		r := runCLI(t, "run", "txt2img", "-p", "steps=0", "--out", t.TempDir(), "--server", url)
		var stderr strings.Builder
		if code := exitCode(r.err, &stderr); code != 1 {
			t.Fatalf("exit %d (%v), want 1", code, r.err)
		}
		want := regexp.MustCompile(`^comfygate: submit: params\.steps: must be ≥ 1 \(400 invalid_request, request [0-9A-Za-z-]+\)\n$`)
		if !want.MatchString(stderr.String()) {
			t.Errorf("stderr %q, want it to match %s", stderr.String(), want)
		}
	})

	t.Run("a failing node fails the run", func(t *testing.T) {
		sim.SetFailNode("KSampler")
		defer sim.SetFailNode("")
		out := t.TempDir()
		r := runCLI(t, "run", "txt2img", "-p", "steps=1", "-p", "width=64", "-p", "height=64", "--out", out, "--server", url)
		var ended *jobEndedError
		if !errors.As(r.err, &ended) || ended.Job.State != api.StateFailed || ended.Job.Error == nil {
			t.Fatalf("err = %v, want a failed job; stderr:\n%s", r.err, r.stderr)
		}
		if e := ended.Job.Error; e.NodeID != "3" || e.NodeType != "KSampler" || e.Type == "" || e.Message == "" {
			t.Errorf("job error %+v, want type, node 3 (KSampler) and message", e)
		}
		if exitCode(r.err, io.Discard) != 1 {
			t.Errorf("exit code %d, want 1", exitCode(r.err, io.Discard))
		}
		if !strings.Contains(r.err.Error(), "in node 3 (KSampler)") {
			t.Errorf("error %q does not name the node", r.err)
		}
		if entries, _ := os.ReadDir(out); len(entries) != 0 {
			t.Errorf("a failed run saved %v", entries)
		}
	})

	t.Run("ctrl-c cancels the job", func(t *testing.T) {
		sim.SetStepDelay(20 * time.Millisecond)
		defer sim.SetStepDelay(0)
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		runCtx, ctrlC := context.WithCancel(ctx)
		defer ctrlC()
		stderr := newLineBuffer()
		done := make(chan error, 1)
		go func() {
			done <- run(runCtx, []string{"run", "txt2img", "-p", "steps=10000", "-p", "width=64", "-p", "height=64",
				"--out", t.TempDir(), "--server", url}, io.Discard, stderr)
		}()
		m, err := stderr.waitMatch(ctx, regexp.MustCompile(`submitted job (\S+)\n(?s:.*)started on `))
		if err != nil {
			t.Fatalf("the job never started: %v\n%s", err, stderr)
		}
		ctrlC()
		if err := <-done; !errors.Is(err, errInterrupted) || exitCode(err, io.Discard) == 0 {
			t.Fatalf("run after Ctrl-C: %v, want errInterrupted and a non-zero exit", err)
		}
		r := runCLI(t, "jobs", "wait", m[1], "--json", "--server", url)
		var ended *jobEndedError
		if !errors.As(r.err, &ended) || ended.Job.State != api.StateCancelled {
			t.Fatalf("jobs wait after Ctrl-C: %v, want the job cancelled on the server", r.err)
		}
	})

	t.Run("admin verbs", func(t *testing.T) {
		if out := mustCLI(t, "backends", "--server", url).stdout; !strings.Contains(out, sim.URL()) || !strings.Contains(out, "healthy") {
			t.Errorf("backends list:\n%s", out)
		}
		if out := mustCLI(t, "workflows", "get", "txt2img", "--server", url).stdout; !strings.Contains(out, "3.inputs.seed") {
			t.Errorf("workflows get:\n%s", out)
		}
		mustCLI(t, "workflows", "delete", "txt2img", "--server", url)
		if r := runCLI(t, "workflows", "get", "txt2img", "--server", url); r.err == nil || !strings.Contains(r.err.Error(), "404") {
			t.Errorf("get after delete: %v", r.err)
		}
	})
}

// checkSavedPNG checks that path lies in dir and holds a PNG of w×h.
func checkSavedPNG(t *testing.T, dir, path string, w, h int) {
	t.Helper()
	if filepath.Dir(path) != dir {
		t.Errorf("saved %s outside --out %s", path, dir)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil || cfg.Width != w || cfg.Height != h {
		t.Errorf("%s: %dx%d (%v), want a %dx%d PNG", path, cfg.Width, cfg.Height, err, w, h)
	}
}

// TestCLIPercentageFollowsSampler runs a 20-step job on a fresh gateway
// (whose fleet weighs nodes by its priors until it has measured them) and
// reads the progress lines `run` prints.
func TestCLIPercentageFollowsSampler(t *testing.T) {
	url, _ := startCLIStack(t, comfysim.Options{StepDelay: 2 * time.Millisecond})
	r := mustCLI(t, "run", "txt2img", "-p", "steps=20", "-p", "width=64", "-p", "height=64", "--out", t.TempDir(), "--server", url)
	checkSamplerPercentages(t, r.stderr)
}

var samplerLineRE = regexp.MustCompile(`\] +(\d+)% node 3 \(KSampler\) step (\d+)/20`)

// checkSamplerPercentages checks the progress lines of a 20-step sampler:
// the job's percentage is the sampler's own within 10 points (sampling is
// nearly all of the run's time; by node count step 10 showed 64%), and it
// never goes back.
func checkSamplerPercentages(t *testing.T, stderr string) {
	t.Helper()
	lines, last := 0, 0
	for _, m := range samplerLineRE.FindAllStringSubmatch(stderr, -1) {
		pct, _ := strconv.Atoi(m[1])
		step, _ := strconv.Atoi(m[2])
		lines++
		if want := step * 100 / 20; pct < want-10 || pct > want+10 {
			t.Errorf("at step %d of 20 the line shows %d%%, want %d%% ± 10", step, pct, want)
		}
		if pct < last {
			t.Errorf("the percentage went back from %d%% to %d%%", last, pct)
		}
		last = pct
	}
	if lines == 0 {
		t.Errorf("no sampler progress line; stderr:\n%s", stderr)
	}
}
