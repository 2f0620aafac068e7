package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/comfy/comfysim"
	"github.com/comfygate/comfygate/internal/job"
)

// simCheckpoint is the simulator's default model file.
const simCheckpoint = "v1-5-pruned-emaonly.safetensors"

// imageGraph is a small text-to-image graph: loader, prompts, 64x64 latent,
// sampler with steps steps, decode, save. seed makes runs distinct (the
// simulator, like ComfyUI, answers an identical graph from its cache).
func imageGraph(ckpt string, seed, steps int) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{
	 "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": %q}},
	 "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a cat", "clip": ["4", 1]}},
	 "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["4", 1]}},
	 "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
	 "3": {"class_type": "KSampler", "inputs": {"seed": %d, "steps": %d, "cfg": 7, "sampler_name": "euler",
	   "scheduler": "normal", "denoise": 1, "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]}},
	 "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
	 "9": {"class_type": "SaveImage", "inputs": {"images": ["8", 0], "filename_prefix": "fleet"}}
	}`, ckpt, seed, steps))
}

// sim is one simulated backend.
type sim struct {
	*comfysim.Server
	url  string
	addr string

	mu       sync.Mutex // guards maxQueue
	maxQueue int        // most prompts ComfyUI held (running + pending) when one more arrived
}

// startSim runs a simulator behind the real Serve (so Crash drops its
// listener).
func startSim(tb testing.TB, opts comfysim.Options) *sim {
	tb.Helper()
	s := comfysim.Start(tb, opts)
	u := s.URL()
	return &sim{Server: s, url: u, addr: strings.TrimPrefix(u, "http://")}
}

// startCountingSim runs a simulator behind a handler that records how many
// prompts the simulator already held each time a new one was posted.
func startCountingSim(tb testing.TB, opts comfysim.Options) *sim {
	tb.Helper()
	srv, err := comfysim.New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	s := &sim{Server: srv}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/prompt") {
			s.recordQueue(srv.Handler())
		}
		srv.Handler().ServeHTTP(w, r)
	}))
	tb.Cleanup(func() {
		srv.Close()
		ts.Close()
	})
	s.url, s.addr = ts.URL, ts.Listener.Addr().String()
	return s
}

func (s *sim) recordQueue(h http.Handler) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/queue", nil))
	var q comfy.QueueStatus
	if json.Unmarshal(rec.Body.Bytes(), &q) != nil {
		return
	}
	s.mu.Lock()
	s.maxQueue = max(s.maxQueue, len(q.Running)+len(q.Pending))
	s.mu.Unlock()
}

func (s *sim) maxHeld() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxQueue
}

// restartSim starts a fresh simulator (empty queue and history, like a
// restarted ComfyUI) on the address of a crashed one.
func restartSim(tb testing.TB, addr string, opts comfysim.Options) *sim {
	tb.Helper()
	srv, err := comfysim.New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		srv.Close()
		tb.Fatalf("relisten on %s: %v", addr, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, comfysim.ErrCrashed) {
			tb.Errorf("serve: %v", err)
		}
		srv.Close()
	})
	return &sim{Server: srv, url: "http://" + addr, addr: addr}
}

// backendOf configures a fleet backend for s.
func backendOf(id string, s *sim, maxInflight int) BackendConfig {
	return BackendConfig{ID: id, URL: s.url, MaxInflight: maxInflight}
}

// executions counts how often the simulators ran any attempt of the job.
func executions(j *job.Job, sims ...*sim) int {
	n := 0
	for _, s := range sims {
		st := s.Stats()
		for a := 1; a <= max(j.Attempts, 1); a++ {
			n += st.ExecutionsByPromptID[promptIDFor(j.ID, a)]
		}
	}
	return n
}

// waitHealthy waits until every backend is healthy.
func (e *env) waitHealthy(tb testing.TB) {
	tb.Helper()
	waitUntil(tb, "backends healthy", func() bool {
		for _, b := range e.fleet.Backends() {
			if b.State != StateHealthy {
				return false
			}
		}
		return true
	})
}
