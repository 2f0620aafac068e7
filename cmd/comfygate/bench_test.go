package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/comfygate/comfygate/comfy/comfysim"
)

// TestBenchVerb drives a gateway (serve in front of a simulator) with the
// verb as a user would, on both paths and with a stored workflow.
func TestBenchVerb(t *testing.T) {
	c, _ := startStack(t, comfysim.Options{})
	url := c.base
	r := mustCLI(t, "bench", "--server", url, "--clients", "2", "--jobs", "6")
	for _, want := range []string{"path:", "rest", "6 succeeded, 0 failed", "jobs/s:", "p50", "p90", "p99", "ms per job"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("rest output lacks %q:\n%s", want, r.stdout)
		}
	}
	r = mustCLI(t, "bench", "--server", url, "--path", "comfy", "--clients", "2", "--jobs", "4", "--warmup", "0", "--json")
	var res benchJSON
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("--json: %v\n%s", err, r.stdout)
	}
	if res.Path != "comfy" || res.Jobs != 4 || res.Failed != 0 || res.JobsPerSecond <= 0 || res.P99MS < res.P50MS ||
		res.ServerCPUPerJob == nil || *res.ServerCPUPerJob <= 0 {
		t.Errorf("comfy result %+v", res)
	}
	r = mustCLI(t, "bench", "--server", url, "--workflow", "t2i", "--clients", "1", "--jobs", "2")
	if !strings.Contains(r.stdout, "2 succeeded") || r.stderr != "" {
		t.Errorf("workflow run: %s\nstderr: %s", r.stdout, r.stderr)
	}
}

func TestBenchVerbErrors(t *testing.T) {
	sim := comfysim.Start(t, comfysim.Options{FailNode: "ImageInvert"})
	r := runCLI(t, "bench", "--server", sim.URL(), "--path", "comfy", "--clients", "1", "--jobs", "2", "--warmup", "0")
	if r.err == nil || !strings.Contains(r.err.Error(), "2 of 2 jobs failed") || !strings.Contains(r.stdout, "0 succeeded, 2 failed") {
		t.Errorf("failing jobs: err %v\n%s", r.err, r.stdout)
	}
	for _, tc := range []struct {
		name    string
		args    []string
		mention string
	}{
		{"unknown path", []string{"--path", "grpc"}, "path"},
		{"missing graph file", []string{"--graph", "/nonexistent/graph.json"}, "--graph"},
		{"workflow on the comfy path", []string{"--path", "comfy", "--workflow", "x"}, "workflow"},
		{"arguments", []string{"extra"}, "no arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, append([]string{"bench", "--server", sim.URL()}, tc.args...)...)
			if r.err == nil || !strings.Contains(r.err.Error(), tc.mention) {
				t.Errorf("err = %v, want one mentioning %q", r.err, tc.mention)
			}
		})
	}
}
