package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/comfy/comfysim"
	"github.com/comfygate/comfygate/internal/lifecycle"
)

// TestMain fails the run when a goroutine outlives the tests, and removes
// the seeded store of the benchmarks. Started as a benchmark's helper
// process (see childEnv), it runs that instead.
func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(runChild(spec))
	}
	code := m.Run()
	if seeded.dir != "" {
		_ = os.RemoveAll(seeded.dir)
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// testTimeout bounds every wait; reaching it means something is broken.
const testTimeout = 60 * time.Second

// startServer starts a server with one simulator on a free port and stops
// it at cleanup.
func startServer(tb testing.TB, cfg Config) *Server {
	tb.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.DataDir == "" {
		cfg.DataDir = tb.TempDir()
	}
	s, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { stopServer(tb, s) })
	return s
}

func stopServer(tb testing.TB, s *Server) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		tb.Errorf("stop: %v", err)
	}
}

// client is an HTTP client whose connections are closed at cleanup.
func client(tb testing.TB) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func get(tb testing.TB, c *http.Client, url string) (int, []byte) {
	tb.Helper()
	resp, err := c.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp.StatusCode, body
}

func post(tb testing.TB, c *http.Client, url, body string) (int, []byte) {
	tb.Helper()
	resp, err := c.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp.StatusCode, data
}

// poll checks cond until it holds or testTimeout passes; the pause between
// checks only saves CPU.
func poll(cond func() bool) bool {
	deadline := time.Now().Add(testTimeout)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return false
}

func waitReady(tb testing.TB, c *http.Client, s *Server) {
	tb.Helper()
	if !poll(func() bool { code, _ := get(tb, c, s.URL()+"/readyz"); return code == http.StatusOK }) {
		tb.Fatal("server never became ready")
	}
}

func TestStartStopRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Listen: "127.0.0.1:0", DataDir: dir, SimBackends: 1, Examples: true}
	s := startServer(t, cfg)
	c := client(t)
	waitReady(t, c, s)
	if code, body := get(t, c, s.URL()+"/v1/workflows/txt2img"); code != http.StatusOK {
		t.Fatalf("example workflow: %d %s", code, body)
	}
	id1, err := os.ReadFile(cfg.path(instanceFile))
	if err != nil {
		t.Fatal(err)
	}
	stopServer(t, s)
	if err := s.Stop(context.Background()); err != nil {
		t.Fatalf("second Stop: %v, want the first one's result (nil)", err)
	}
	if err := s.Start(context.Background()); !errors.Is(err, lifecycle.ErrStarted) {
		t.Fatalf("Start after Stop: %v, want ErrStarted", err)
	}

	again := startServer(t, cfg)
	id2, err := os.ReadFile(cfg.path(instanceFile))
	if err != nil {
		t.Fatal(err)
	}
	if string(id1) != string(id2) {
		t.Fatalf("instance id changed across restarts: %q → %q", id1, id2)
	}
	if code, _ := get(t, c, again.URL()+"/v1/workflows/txt2img"); code != http.StatusOK {
		t.Fatalf("workflow lost across restarts: %d", code)
	}
}

func TestDataDirInUse(t *testing.T) {
	dir := t.TempDir()
	first := startServer(t, Config{DataDir: dir})
	second, err := New(Config{Listen: "127.0.0.1:0", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := second.Start(context.Background()); !errors.Is(err, ErrDataDirInUse) {
		t.Fatalf("second server on one data dir: %v, want ErrDataDirInUse", err)
	}
	if code, _ := get(t, client(t), first.URL()+"/healthz"); code != http.StatusOK {
		t.Fatalf("first server answers %d after the second failed", code)
	}
}

// TestFailedStartLeavesNothing: a start that fails half-way (the address is
// taken) stops what it started: no goroutine stays (goleak), and the data
// directory is free again.
func TestFailedStartLeavesNothing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	s, err := New(Config{Listen: ln.Addr().String(), DataDir: dir, SimBackends: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "listen") {
		t.Fatalf("Start on a taken address: %v, want a listen error", err)
	}
	if s.Addr() != nil {
		t.Fatalf("Addr after a failed start = %v, want nil", s.Addr())
	}
	startServer(t, Config{DataDir: dir}) // the lock was released
}

// TestStopEndsWaitsAndStreams: a graceful stop must not wait for clients
// that would hold it forever: a ?wait= request answers with the job as it
// stands, and event streams end.
func TestStopEndsWaitsAndStreams(t *testing.T) {
	s := startServer(t, Config{SimBackends: 1, Examples: true, Sim: comfysim.Options{StepDelay: 50 * time.Millisecond}})
	c := client(t)
	waitReady(t, c, s)
	code, body := post(t, c, s.URL()+"/v1/jobs", `{"workflow":"txt2img","params":{"steps":10000,"width":64,"height":64}}`)
	if code != http.StatusCreated {
		t.Fatalf("submit: %d %s", code, body)
	}
	var j api.Job
	if err := json.Unmarshal(body, &j); err != nil {
		t.Fatal(err)
	}
	running := func() bool {
		_, b := get(t, c, s.URL()+"/v1/jobs/"+j.ID)
		return strings.Contains(string(b), `"state":"running"`)
	}
	if !poll(running) {
		t.Fatal("job never ran")
	}
	stream, err := c.Get(s.URL() + "/v1/jobs/" + j.ID + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	type answer struct {
		code int
		job  api.Job
	}
	waited := make(chan answer, 1)
	go func() {
		resp, err := c.Get(s.URL() + "/v1/jobs/" + j.ID + "?wait=10m")
		if err != nil {
			waited <- answer{}
			return
		}
		defer resp.Body.Close()
		var a answer
		a.code = resp.StatusCode
		_ = json.NewDecoder(resp.Body).Decode(&a.job)
		waited <- a
	}()
	// The stream and the wait request are in flight once the server counts
	// them both.
	if !poll(func() bool { return inFlight(t, c, s) >= 2 }) {
		t.Fatal("the wait request never arrived")
	}
	stopServer(t, s)
	a := <-waited
	if a.code != http.StatusOK || a.job.State != api.StateRunning {
		t.Fatalf("waiting request got %d with state %q, want 200 with the running job", a.code, a.job.State)
	}
	if _, err := io.Copy(io.Discard, stream.Body); err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("event stream: %v", err)
	}
}

// inFlight reads the requests-in-flight gauge, minus the metrics request.
func inFlight(tb testing.TB, c *http.Client, s *Server) int {
	_, body := get(tb, c, s.URL()+"/metrics")
	for line := range strings.SplitSeq(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "comfygate_http_requests_in_flight "); ok {
			var n float64
			if err := json.Unmarshal([]byte(v), &n); err == nil {
				return int(n) - 1
			}
		}
	}
	return 0
}

func TestRunStopsWhenContextEnds(t *testing.T) {
	s, err := New(Config{Listen: "127.0.0.1:0", DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	if !poll(func() bool { return s.Addr() != nil }) {
		t.Fatal("Run never listened")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if _, err := net.Dial("tcp", s.Addr().String()); err == nil {
		t.Fatal("still listening after Run returned")
	}
}

// TestSimulatorCrashIsNotFatal: in the demo, a simulator crashed on purpose
// (POST /sim/faults) is a backend going away; the server keeps serving and
// its jobs run on the other simulator.
func TestSimulatorCrashIsNotFatal(t *testing.T) {
	s := startServer(t, Config{SimBackends: 2, Examples: true})
	c := client(t)
	waitReady(t, c, s)
	_, body := get(t, c, s.URL()+"/v1/backends")
	var list api.BackendList
	if err := json.Unmarshal(body, &list); err != nil || len(list.Backends) != 2 {
		t.Fatalf("backends: %s (%v)", body, err)
	}
	if code, body := post(t, c, list.Backends[0].URL+"/sim/faults", `{"crash":true}`); code != http.StatusOK {
		t.Fatalf("crash simulator: %d %s", code, body)
	}
	for range 3 {
		code, body := post(t, c, s.URL()+"/v1/jobs?wait=60s", `{"workflow":"txt2img","params":{"steps":1,"width":64,"height":64}}`)
		if code != http.StatusCreated || !strings.Contains(string(body), `"state":"succeeded"`) {
			t.Fatalf("job after a simulator crash: %d %s", code, body)
		}
	}
}

// TestDownBackendSaysWhy: a backend that went away shows in GET
// /v1/backends as down, with the reason and the time, and without a
// latency left over from when it answered.
func TestDownBackendSaysWhy(t *testing.T) {
	s := startServer(t, Config{SimBackends: 2})
	c := client(t)
	waitReady(t, c, s)
	_, body := get(t, c, s.URL()+"/v1/backends")
	var list api.BackendList
	if err := json.Unmarshal(body, &list); err != nil || len(list.Backends) != 2 {
		t.Fatalf("backends: %s (%v)", body, err)
	}
	if code, body := post(t, c, list.Backends[0].URL+"/sim/faults", `{"crash":true}`); code != http.StatusOK {
		t.Fatalf("crash simulator: %d %s", code, body)
	}
	var raw map[string][]map[string]any
	if !poll(func() bool {
		_, body = get(t, c, s.URL()+"/v1/backends")
		raw = nil
		return json.Unmarshal(body, &raw) == nil && raw["backends"][0]["state"] == "down"
	}) {
		t.Fatalf("the crashed simulator never showed as down: %s", body)
	}
	down := raw["backends"][0]
	if reason, _ := down["last_error"].(string); reason == "" {
		t.Errorf("no last_error: %s", body)
	}
	if at, _ := down["last_error_at"].(string); at == "" {
		t.Errorf("no last_error_at: %s", body)
	} else if _, err := time.Parse(time.RFC3339Nano, at); err != nil {
		t.Errorf("last_error_at %q: %v", at, err)
	}
	if _, ok := down["latency_ms"]; ok {
		t.Errorf("a down backend shows a latency: %s", body)
	}
}
