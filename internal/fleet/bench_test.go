package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/comfy/comfysim"
	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/job"
)

// tinyGraph is a near-zero-time job with one output file; color makes each
// run distinct so ComfyUI's cache does not answer it.
func tinyGraph(color int) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{
	 "1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": %d}},
	 "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "bench"}}
	}`, color))
}

// countHub counts terminal events and signals when want were seen.
type countHub struct {
	mu   sync.Mutex // guards n, want, done
	n    int
	want int
	done chan struct{}
}

func (h *countHub) Publish(e events.Event) {
	if e.Sub != 0 || !job.TerminalEvent(e.Type) {
		return
	}
	h.mu.Lock()
	h.n++
	if h.n == h.want && h.done != nil {
		close(h.done)
	}
	h.mu.Unlock()
}

// expect arms the hub for n more terminal events.
func (h *countHub) expect(n int) <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.want, h.done = h.n+n, make(chan struct{})
	if n == 0 {
		close(h.done)
	}
	return h.done
}

// startSims starts n in-process simulators and returns their URLs.
func startSims(b *testing.B, n int, opts comfysim.Options) []string {
	var urls []string
	for range n {
		urls = append(urls, startSim(b, opts).url)
	}
	return urls
}

// benchFleet starts a fleet over the simulators at urls.
func benchFleet(b *testing.B, urls []string, hub Hub, observe func(*Backend, comfy.Event)) (*Fleet, job.Store) {
	b.Helper()
	var backends []BackendConfig
	for i, u := range urls {
		backends = append(backends, BackendConfig{ID: fmt.Sprint("b", i), URL: u, MaxInflight: 2})
	}
	st := openStore(b, b.TempDir())
	cfg := testConfig(st, nil, newMemArtifacts(), backends...)
	// Production intervals: tests shorten them to see faults quickly.
	cfg.Hub, cfg.RefreshInterval, cfg.ProbeInterval = hub, DefaultRefreshInterval, DefaultProbeInterval
	f, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	if observe != nil {
		f.testDrop = func(bk *Backend, ev comfy.Event) bool { observe(bk, ev); return false }
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := f.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		_ = f.Stop(sctx)
		cancel()
	})
	waitUntil(b, "backends healthy", func() bool {
		for _, s := range f.Backends() {
			if s.State != StateHealthy {
				return false
			}
		}
		return true
	})
	return f, st
}

func submitN(b *testing.B, f *Fleet, st job.Store, n, base int) {
	b.Helper()
	for i := range n {
		j, _, err := st.CreateJob(context.Background(), &job.Job{Graph: tinyGraph(base + i)})
		if err != nil {
			b.Fatal(err)
		}
		f.Enqueue(j.ID)
	}
}

// BenchmarkThroughput pushes zero-time jobs through 8 simulated backends
// (2 slots each) on one replica with the SQLite store, and reports jobs/s
// from submission of the first to the end of the last. The simulators run
// in a child process, so cpu-µs/job is the replica's own cost (fleet,
// store, HTTP and WebSocket clients); the machine's cores are still shared
// with the simulators.
func BenchmarkThroughput(b *testing.B) {
	hub := &countHub{}
	f, st := benchFleet(b, startChildSims(b, 8), hub, nil)
	done := hub.expect(b.N)
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	submitN(b, f, st, b.N, 1)
	<-done
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "jobs/s")
	// CPU per job of this process: on a shared machine it says more than
	// wall time.
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/job")
}

// cpuTime is the CPU time (user + system) this process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// gapObserver records, per backend, when each prompt's execution_start and
// execution_success reached our socket.
type gapObserver struct {
	mu     sync.Mutex // guards the maps
	starts map[string][]time.Time
	ends   map[string][]time.Time
}

func newGapObserver() *gapObserver {
	return &gapObserver{starts: map[string][]time.Time{}, ends: map[string][]time.Time{}}
}

func (o *gapObserver) observe(b *Backend, ev comfy.Event) {
	now := time.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	switch ev.(type) {
	case comfy.ExecutionStart:
		o.starts[b.ID()] = append(o.starts[b.ID()], now)
	case comfy.ExecutionSuccess:
		o.ends[b.ID()] = append(o.ends[b.ID()], now)
	}
}

// gaps returns, for every backend, the time from each run's end to the
// next run's start.
func (o *gapObserver) gaps() []time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []time.Duration
	for id, ends := range o.ends {
		starts := o.starts[id]
		for i := 0; i+1 < len(starts) && i < len(ends); i++ {
			out = append(out, starts[i+1].Sub(ends[i]))
		}
	}
	slices.Sort(out)
	return out
}

// BenchmarkNextJobGap measures, on one backend with the default prefetch
// (MaxInflight 2), the gap between execution_success of one job and
// execution_start of the next, as seen on our socket. With jobs that take
// a few milliseconds the next job is already waiting in ComfyUI's queue, so
// the gap is ComfyUI's own; zero-time jobs end before the next POST lands
// and show our dispatch latency instead.
func BenchmarkNextJobGap(b *testing.B) {
	for _, tc := range []struct {
		name string
		opts comfysim.Options
	}{
		{"zero-time", comfysim.Options{}},
		{"10ms-nodes", comfysim.Options{NodeDelay: 10 * time.Millisecond}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			hub, obs := &countHub{}, newGapObserver()
			f, st := benchFleet(b, startSims(b, 1, tc.opts), hub, obs.observe)
			n := max(b.N, 50)
			done := hub.expect(n)
			b.ResetTimer()
			submitN(b, f, st, n, 1)
			<-done
			b.StopTimer()
			g := obs.gaps()
			if len(g) == 0 {
				b.Fatal("no gaps observed")
			}
			b.ReportMetric(float64(g[len(g)/2].Microseconds())/1000, "median-gap-ms")
			b.ReportMetric(float64(g[len(g)*99/100].Microseconds())/1000, "p99-gap-ms")
		})
	}
}

// BenchmarkMakespan runs rounds of 32 jobs of fixed length on 4 backends
// and reports the mean makespan over the ideal (32/4 runs back to back on
// every backend), and the fewest and most jobs one backend got per round.
func BenchmarkMakespan(b *testing.B) {
	const jobs, backends = 32, 4
	hub, obs := &countHub{}, newGapObserver()
	f, st := benchFleet(b, startSims(b, backends, comfysim.Options{NodeDelay: 25 * time.Millisecond}), hub, obs.observe)
	runTime := calibrate(b, f, st, hub, obs)
	before := doneByBackend(f)
	var total time.Duration
	b.ResetTimer()
	for i := range b.N {
		done := hub.expect(jobs)
		start := time.Now()
		submitN(b, f, st, jobs, 1000+i*jobs)
		<-done
		total += time.Since(start)
	}
	b.StopTimer()
	ideal := time.Duration(jobs/backends) * runTime
	b.ReportMetric(total.Seconds()/float64(b.N)/ideal.Seconds(), "makespan/ideal")
	lo, hi := int64(1<<62), int64(0)
	for id, n := range doneByBackend(f) {
		lo, hi = min(lo, n-before[id]), max(hi, n-before[id])
	}
	b.ReportMetric(float64(lo)/float64(b.N), "min-jobs/backend")
	b.ReportMetric(float64(hi)/float64(b.N), "max-jobs/backend")
}

// doneByBackend returns how many jobs each backend finished so far.
func doneByBackend(f *Fleet) map[string]int64 {
	out := map[string]int64{}
	for _, s := range f.Backends() {
		out[s.ID] = s.Done
	}
	return out
}

// calibrate runs one job alone and returns its run time on the backend.
func calibrate(b *testing.B, f *Fleet, st job.Store, hub *countHub, obs *gapObserver) time.Duration {
	b.Helper()
	done := hub.expect(1)
	submitN(b, f, st, 1, 0)
	<-done
	obs.mu.Lock()
	defer obs.mu.Unlock()
	for id, ends := range obs.ends {
		d := ends[0].Sub(obs.starts[id][0])
		delete(obs.ends, id)
		delete(obs.starts, id)
		return d
	}
	b.Fatal("calibration job not observed")
	return 0
}
