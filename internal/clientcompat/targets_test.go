package clientcompat

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/comfygate/comfygate/comfy/comfysim"
	"github.com/comfygate/comfygate/internal/server"
)

// Bounds of starting and stopping a target; reaching one means something
// is broken.
const (
	startTimeout = 60 * time.Second
	stopTimeout  = 30 * time.Second
	pollEvery    = 50 * time.Millisecond
)

// simOptions makes the simulators take time as a real ComfyUI does: every
// node at least 50ms, every sampler step 10ms, and writing the output file
// 300ms. A backend that finishes in microseconds would outrun clients
// that, like stable-canvas's enqueue and the SDK's CallWrapper, start
// listening for a prompt's messages only once POST /prompt has answered;
// no real server is that fast, and the clients are not ours to fix.
func simOptions() comfysim.Options {
	return comfysim.Options{
		NodeDelay:   50 * time.Millisecond,
		StepDelay:   10 * time.Millisecond,
		ClassDelays: map[string]time.Duration{"SaveImage": 300 * time.Millisecond},
	}
}

// httpClient is the test's own client; its connections are closed at
// cleanup.
func httpClient(tb testing.TB) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// startGateway starts the whole comfygate process in-process (store,
// fleet, every surface on one listener) with two simulated backends, and
// returns its base URL once both backends are healthy and the
// ComfyUI-compatible surface answers.
func startGateway(t *testing.T, hc *http.Client) string {
	t.Helper()
	s, err := server.New(server.Config{
		Listen:          "127.0.0.1:0",
		DataDir:         t.TempDir(),
		SimBackends:     2,
		Sim:             simOptions(),
		ShutdownTimeout: stopTimeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		t.Fatalf("start comfygate: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Errorf("stop comfygate: %v", err)
		}
	})
	base := s.URL()
	waitFor(t, ctx, "two healthy backends", func() bool { return healthyBackends(t, hc, base) >= 2 })
	waitFor(t, ctx, "the ComfyUI surface", func() bool { return comfySurfaceReady(t, hc, base) })
	return base
}

// waitFor polls cond until it holds, failing the test at ctx's end.
func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("comfygate: no %s after %v", what, startTimeout)
		case <-tick.C:
		}
	}
}

// backendsView is the part of GET /v1/backends the test reads.
type backendsView struct {
	Backends []struct {
		ID    string `json:"id"`
		State string `json:"state"`
		Done  int64  `json:"jobs_done"`
	} `json:"backends"`
}

func getBackends(t *testing.T, hc *http.Client, base string) backendsView {
	t.Helper()
	var v backendsView
	status, body := get(t, hc, base+"/v1/backends")
	if status != http.StatusOK {
		t.Fatalf("GET /v1/backends: %d %s", status, tail(body))
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("GET /v1/backends: %v", err)
	}
	return v
}

func healthyBackends(t *testing.T, hc *http.Client, base string) int {
	n := 0
	for _, b := range getBackends(t, hc, base).Backends {
		if b.State == "healthy" {
			n++
		}
	}
	return n
}

// comfySurfaceReady says whether comfygate answers ComfyUI's
// /object_info/KSampler; a 404 means internal/server does not mount the
// surface at all, which no wait can fix.
func comfySurfaceReady(t *testing.T, hc *http.Client, base string) bool {
	t.Helper()
	status, body := get(t, hc, base+"/object_info/KSampler")
	switch status {
	case http.StatusOK:
		var defs map[string]json.RawMessage
		if err := json.Unmarshal(body, &defs); err != nil || defs["KSampler"] == nil {
			t.Fatalf("GET /object_info/KSampler: want ComfyUI's node definition, got %s", tail(body))
		}
		return true
	case http.StatusNotFound:
		t.Fatalf("comfygate does not serve ComfyUI's routes: GET /object_info/KSampler answered 404 %s; "+
			"internal/server must mount the internal/comfyapi surface on its listener", bytes.TrimSpace(body))
	}
	return false
}

func get(t *testing.T, hc *http.Client, url string) (int, []byte) {
	t.Helper()
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, body
}

// logBackends shows how the fleet spread the clients' prompts.
func logBackends(t *testing.T, hc *http.Client, base string) {
	t.Helper()
	for _, b := range getBackends(t, hc, base).Backends {
		t.Logf("backend %s: %s, %d jobs done", b.ID, b.State, b.Done)
	}
}
