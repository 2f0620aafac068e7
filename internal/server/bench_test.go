package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/comfy/comfysim"
)

// BenchmarkSubmitLatency measures one POST /v1/jobs round trip through the
// whole stack (HTTP, validation against the fleet's catalog, the durable
// insert, the queued event) while two simulators run the jobs.
func BenchmarkSubmitLatency(b *testing.B) {
	s := startServer(b, Config{SimBackends: 2, Examples: true})
	c := client(b)
	waitReady(b, c, s)
	body := `{"workflow":"txt2img","params":{"steps":1,"width":64,"height":64}}`
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if code, resp := post(b, c, s.URL()+"/v1/jobs", body); code != http.StatusCreated {
			b.Fatalf("submit: %d %s", code, resp)
		}
	}
}

// BenchmarkAddedLatency compares the end-to-end latency of one job through
// comfygate (POST /v1/jobs?wait= until it succeeded, its outputs stored)
// with the same job sent straight to the simulator the way a direct client
// does it (POST /prompt with its client id, then its own WebSocket until
// execution_success). Both run on one simulator with zero-time nodes, so
// the difference is what comfygate adds. ns/op covers both runs; the
// metrics split them: mean, median and 99th percentile milliseconds per
// job (the design's budget: ≤ 2 ms median and ≤ 10 ms p99 added).
func BenchmarkAddedLatency(b *testing.B) {
	for _, clients := range []int{1, 8} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			sim := comfysim.Start(b, comfysim.Options{})
			s := startServer(b, Config{Backends: []BackendConfig{{URL: sim.URL()}}})
			hc := client(b)
			waitReady(b, hc, s)
			jobs := newJobSource(b)
			direct := directRunner(b, sim.URL(), clients, jobs)
			through := gatewayRunner(b, hc, s.URL(), "", jobs)
			measure(b, clients, clients, direct) // warm up: sockets, caches
			measure(b, clients, clients, through)
			b.ResetTimer()
			d := measure(b, clients, b.N, direct)
			g := measure(b, clients, b.N, through)
			b.StopTimer()
			b.ReportMetric(mean(d), "direct-ms/op")
			b.ReportMetric(mean(g), "gateway-ms/op")
			b.ReportMetric(mean(g)-mean(d), "added-ms/op")
			b.ReportMetric(median(g)-median(d), "added-p50-ms")
			b.ReportMetric(p99(g)-p99(d), "added-p99-ms")
		})
	}
}

// jobSource makes prompts that differ in their seed, so that no backend
// answers one from its cache.
type jobSource struct {
	graph map[string]map[string]any
	seed  atomic.Int64
	mu    sync.Mutex // guards graph while it is re-encoded
}

func newJobSource(tb testing.TB) *jobSource {
	tb.Helper()
	body, err := exampleBody("txt2img")
	if err != nil {
		tb.Fatal(err)
	}
	var graph map[string]map[string]any
	if err := json.Unmarshal(body, &graph); err != nil {
		tb.Fatal(err)
	}
	inputs := func(id string) map[string]any { return graph[id]["inputs"].(map[string]any) }
	inputs("3")["steps"] = 1
	inputs("5")["width"], inputs("5")["height"] = 64, 64
	return &jobSource{graph: graph}
}

func (j *jobSource) next() json.RawMessage {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.graph["3"]["inputs"].(map[string]any)["seed"] = j.seed.Add(1)
	b, _ := json.Marshal(j.graph)
	return b
}

// runner runs one job for client i and returns how long it took.
type runner func(tb testing.TB, i int) time.Duration

// measure runs n jobs on clients concurrent clients and returns each job's
// latency in milliseconds.
func measure(tb testing.TB, clients, n int, run runner) []float64 {
	out := make([]float64, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			for k := int(next.Add(1)) - 1; k < n; k = int(next.Add(1)) - 1 {
				out[k] = float64(run(tb, i)) / float64(time.Millisecond)
			}
		})
	}
	wg.Wait()
	return out
}

// directRunner follows each job on the client's own WebSocket, as a
// typical direct ComfyUI client does.
func directRunner(tb testing.TB, simURL string, clients int, jobs *jobSource) runner {
	cc, err := comfy.NewClient(simURL, comfy.WithHTTPClient(client(tb)))
	if err != nil {
		tb.Fatal(err)
	}
	conns := make([]*comfy.Conn, clients)
	for i := range conns {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		conns[i], err = comfy.Dial(ctx, simURL, fmt.Sprintf("bench-client-%d", i), comfy.DialOptions{})
		cancel()
		if err != nil {
			tb.Fatal(err)
		}
		conn := conns[i]
		tb.Cleanup(func() { _ = conn.Close() })
	}
	return func(tb testing.TB, i int) time.Duration {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		prompt := jobs.next()
		start := time.Now()
		resp, err := cc.QueuePrompt(ctx, comfy.PromptRequest{Prompt: prompt, ClientID: fmt.Sprintf("bench-client-%d", i)})
		if err != nil {
			tb.Error(err)
			return 0
		}
		for {
			ev, err := conns[i].Read(ctx)
			if err != nil {
				tb.Error(err)
				return 0
			}
			switch e := ev.(type) {
			case comfy.ExecutionSuccess:
				if e.PromptID == resp.PromptID {
					return time.Since(start)
				}
			case comfy.ExecutionError:
				if e.PromptID == resp.PromptID {
					tb.Errorf("direct job failed: %s", e.ExceptionMessage)
					return 0
				}
			}
		}
	}
}

// gatewayRunner submits each job with ?wait= and checks it succeeded;
// with a hook URL, each job has that webhook.
func gatewayRunner(tb testing.TB, hc *http.Client, base, hook string, jobs *jobSource) runner {
	return func(tb testing.TB, _ int) time.Duration {
		req := map[string]any{"prompt": jobs.next()}
		if hook != "" {
			req["webhook"] = hook
		}
		body, _ := json.Marshal(req)
		start := time.Now()
		resp, err := hc.Post(base+"/v1/jobs?wait=60s", "application/json", strings.NewReader(string(body)))
		if err != nil {
			tb.Error(err)
			return 0
		}
		defer resp.Body.Close()
		var j api.Job
		err = json.NewDecoder(resp.Body).Decode(&j)
		d := time.Since(start)
		if err != nil || j.State != api.StateSucceeded {
			tb.Errorf("gateway job: %d %s %v (%v)", resp.StatusCode, j.State, j.Error, err)
		}
		return d
	}
}

func mean(xs []float64) float64 {
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	return sum / float64(max(len(xs), 1))
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func p99(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*99/100)]
}
