package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/client"
	"github.com/comfygate/comfygate/comfy/comfysim"
	"github.com/comfygate/comfygate/internal/server"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testTimeout bounds every run and wait; it is a deadline for a failure,
// never a measure of speed.
const testTimeout = 60 * time.Second

// startGateway runs comfygate in this process in front of one simulator,
// and waits until it takes jobs.
func startGateway(tb testing.TB) string {
	tb.Helper()
	sim := comfysim.Start(tb, comfysim.Options{})
	return startGatewayWith(tb, server.BackendConfig{URL: sim.URL()})
}

// startGatewayWith runs comfygate in this process in front of backends.
func startGatewayWith(tb testing.TB, backends ...server.BackendConfig) string {
	tb.Helper()
	s, err := server.New(server.Config{Listen: "127.0.0.1:0", DataDir: tb.TempDir(),
		Backends: backends, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			tb.Errorf("stop: %v", err)
		}
	})
	waitReady(tb, s.URL())
	return s.URL()
}

// waitReady polls /readyz; the pause only spares CPU.
func waitReady(tb testing.TB, url string) {
	tb.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		resp, err := http.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("gateway not ready: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runBench runs cfg with a test's transport, closed at the end.
func runBench(tb testing.TB, cfg Config) (Result, error) {
	tb.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	defer tr.CloseIdleConnections()
	cfg.HTTPClient = &http.Client{Transport: tr}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	return Run(ctx, cfg)
}

// serverJobs counts the jobs the gateway holds.
func serverJobs(tb testing.TB, url string) int {
	tb.Helper()
	c, err := client.New(url)
	if err != nil {
		tb.Fatal(err)
	}
	n := 0
	for _, err := range c.Jobs(context.Background(), api.JobQuery{}) {
		if err != nil {
			tb.Fatal(err)
		}
		n++
	}
	return n
}

func TestRunDrivesBothPaths(t *testing.T) {
	url := startGateway(t)
	total := 0
	for _, path := range []string{PathREST, PathComfy} {
		t.Run(path, func(t *testing.T) {
			res, err := runBench(t, Config{Server: url, Path: path, Clients: 3, Jobs: 12, Warmup: 1})
			if err != nil {
				t.Fatal(err)
			}
			if res.Jobs != 12 || res.Failed != 0 || res.Path != path || res.Clients != 3 {
				t.Fatalf("result %+v", res)
			}
			if res.JobsPerSec <= 0 || res.P50 <= 0 || res.P50 > res.P90 || res.P90 > res.P99 || res.P99 > res.Max {
				t.Errorf("rate and latencies: %+v", res)
			}
			if !res.HasServerCPU || res.ServerCPUPerJob <= 0 {
				t.Errorf("server CPU per job: %v (reported %v)", res.ServerCPUPerJob, res.HasServerCPU)
			}
			total += 12 + 3
			if n := serverJobs(t, url); n != total {
				t.Errorf("the gateway holds %d jobs, want %d (measured and warm-up)", n, total)
			}
		})
	}
}

// countingSim is a simulator behind a handler that counts the sockets
// opened to it and the files fetched from it.
type countingSim struct {
	*comfysim.Server
	url          string
	views, socks atomic.Int64
}

func startCountingSim(tb testing.TB) *countingSim {
	tb.Helper()
	srv, err := comfysim.New(comfysim.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	s := &countingSim{Server: srv}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/ws"):
			s.socks.Add(1)
		case strings.HasSuffix(r.URL.Path, "/view"):
			s.views.Add(1)
		}
		srv.Handler().ServeHTTP(w, r)
	}))
	tb.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	s.url = ts.URL
	return s
}

// TestComfyUIDoesLess: however many ComfyUI clients use the gateway, the
// backend sees one socket; each output is fetched from it once, or not at
// all when the gateway reads the backend's output directory; and no
// output stays in the backend's shared output folder.
func TestComfyUIDoesLess(t *testing.T) {
	for _, onDisk := range []bool{false, true} {
		t.Run(fmt.Sprintf("output_dir=%v", onDisk), func(t *testing.T) {
			sim := startCountingSim(t)
			b := server.BackendConfig{URL: sim.url}
			if onDisk {
				b.OutputDir = filepath.Join(sim.DataDir(), "output")
			}
			url := startGatewayWith(t, b)
			res, err := runBench(t, Config{Server: url, Path: PathComfy, Clients: 4, Jobs: 12})
			if err != nil || res.Jobs != 12 {
				t.Fatalf("%+v, %v", res, err)
			}
			if n := sim.socks.Load(); n != 1 {
				t.Errorf("the backend saw %d sockets for 4 clients, want the gateway's one", n)
			}
			wantViews := int64(12)
			if onDisk {
				wantViews = 0
			}
			if n := sim.views.Load(); n != wantViews {
				t.Errorf("the backend served %d files for 12 outputs, want %d", n, wantViews)
			}
			entries, err := os.ReadDir(filepath.Join(sim.DataDir(), "output"))
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if e.Name() != "comfygate" {
					t.Errorf("the shared output folder holds %s", e.Name())
				}
			}
		})
	}
}

func TestRunForADuration(t *testing.T) {
	url := startGateway(t)
	res, err := runBench(t, Config{Server: url, Clients: 2, Duration: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Jobs == 0 || res.Failed != 0 || res.Elapsed < 300*time.Millisecond {
		t.Errorf("result %+v", res)
	}
}

// TestRunAgainstComfyUI: the comfy path runs against a ComfyUI itself (the
// simulator here), which reports no CPU time.
func TestRunAgainstComfyUI(t *testing.T) {
	sim := comfysim.Start(t, comfysim.Options{})
	res, err := runBench(t, Config{Server: sim.URL(), Path: PathComfy, Clients: 2, Jobs: 6})
	if err != nil {
		t.Fatal(err)
	}
	if res.Jobs != 6 || res.Failed != 0 || res.HasServerCPU {
		t.Errorf("result %+v", res)
	}
}

func TestRunCountsFailures(t *testing.T) {
	sim := comfysim.Start(t, comfysim.Options{FailNode: "ImageInvert"})
	res, err := runBench(t, Config{Server: sim.URL(), Path: PathComfy, Clients: 2, Jobs: 4})
	if err != nil {
		t.Fatal(err)
	}
	if res.Jobs != 0 || res.Failed != 4 || !strings.Contains(res.FirstError, "ImageInvert") && !strings.Contains(res.FirstError, "node 2") {
		t.Errorf("result %+v", res)
	}
	_, err = runBench(t, Config{Server: sim.URL(), Path: PathComfy, Clients: 1, Jobs: 1, Warmup: 1})
	if err == nil || !strings.Contains(err.Error(), "warm-up") {
		t.Errorf("a failed warm-up: %v, want the run stopped", err)
	}
}

func TestConfigIsChecked(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     Config
		mention string
	}{
		{"no server", Config{}, "server"},
		{"unknown path", Config{Server: "http://127.0.0.1:1", Path: "grpc"}, "path"},
		{"too many clients", Config{Server: "http://127.0.0.1:1", Clients: MaxClients + 1}, "clients"},
		{"negative jobs", Config{Server: "http://127.0.0.1:1", Jobs: -1}, "clients"},
		{"workflow on the comfy path", Config{Server: "http://127.0.0.1:1", Path: PathComfy, Workflow: "x"}, "workflow"},
		{"workflow and graph", Config{Server: "http://127.0.0.1:1", Workflow: "x", Graph: json.RawMessage(`{}`)}, "workflow"},
		{"not a graph", Config{Server: "http://127.0.0.1:1", Graph: json.RawMessage(`[1]`)}, "graph"},
		{"empty graph", Config{Server: "http://127.0.0.1:1", Graph: json.RawMessage(`{}`)}, "no nodes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(context.Background(), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("Run = %v, want an error mentioning %q", err, tt.mention)
			}
		})
	}
}

func TestGraphSourceVariesSeeds(t *testing.T) {
	t.Parallel()
	g, err := newGraphSource(json.RawMessage(`{"3": {"class_type": "KSampler", "inputs": {"seed": 1, "cfg": 7.50, "steps": 20}},
		"4": {"class_type": "SamplerCustom", "inputs": {"noise_seed": 18446744073709551615, "model": ["1", 0]}}}`))
	if err != nil || !g.varies {
		t.Fatalf("newGraphSource: %v, varies %v", err, g.varies)
	}
	out, err := g.graph(42)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"seed":42`, `"noise_seed":42`, `"cfg":7.50`, `"steps":20`, `"model":["1",0]`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("graph %s lacks %s", out, want)
		}
	}
	g, err = newGraphSource(json.RawMessage(`{"1": {"class_type": "EmptyImage", "inputs": {"seed": ["2", 0]}}}`))
	if err != nil || g.varies {
		t.Errorf("a linked seed is nothing to vary: %v, varies %v", err, g.varies)
	}
}

func TestGraphWithoutSeedWarns(t *testing.T) {
	sim := comfysim.Start(t, comfysim.Options{})
	var mu sync.Mutex
	var warnings []string
	graph := json.RawMessage(`{"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 5}},
		"2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "w"}}}`)
	res, err := runBench(t, Config{Server: sim.URL(), Path: PathComfy, Clients: 1, Jobs: 2, Graph: graph,
		Warn: func(s string) { mu.Lock(); warnings = append(warnings, s); mu.Unlock() }})
	if err != nil || res.Jobs != 2 {
		t.Fatalf("%+v, %v", res, err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "cache") {
		t.Errorf("warnings %q, want one about ComfyUI's cache", warnings)
	}
}

func TestFindMetric(t *testing.T) {
	t.Parallel()
	text := "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n" +
		"# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total_x 9\nprocess_cpu_seconds_total 12.5\n"
	if v, ok := findMetric(strings.NewReader(text), cpuMetric); !ok || v != 12.5 {
		t.Errorf("findMetric = %v, %v", v, ok)
	}
	if _, ok := findMetric(strings.NewReader("go_threads 3\n"), cpuMetric); ok {
		t.Error("found a metric that is not there")
	}
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i))
	}
	for p, want := range map[float64]time.Duration{50: 50, 90: 90, 99: 99, 100: 100, 1: 1} {
		if got := percentile(ds, p); got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
	if percentile(nil, 50) != 0 || percentile(ds[:1], 99) != 1 {
		t.Error("short lists")
	}
}
