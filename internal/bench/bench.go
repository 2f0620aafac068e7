package bench

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// The paths a benchmark drives.
const (
	PathREST  = "rest"
	PathComfy = "comfy"
)

// Defaults.
const (
	DefaultClients    = 8
	DefaultDuration   = 10 * time.Second
	DefaultJobTimeout = 5 * time.Minute
	// MaxClients bounds Clients: each holds sockets open on the server.
	MaxClients = 1024
)

// Config describes one benchmark run.
type Config struct {
	// Server is the base URL of comfygate, or of ComfyUI for PathComfy.
	// Required.
	Server string
	// Key is sent as a bearer token. Default: none.
	Key string
	// Path is PathREST or PathComfy. Default PathREST.
	Path string
	// Clients run at once, each one job at a time. Default 8.
	Clients int
	// Jobs, when positive, is how many jobs are measured; otherwise
	// clients start jobs for Duration (default 10s) and the run ends when
	// the last one is done.
	Jobs     int
	Duration time.Duration
	// Warmup jobs per client run before measuring (connections, caches,
	// the server's first requests). Default 0; a failed one stops the run.
	Warmup int
	// Graph is the API-format graph each job runs, with its "seed" and
	// "noise_seed" inputs set to a number of the job's own. Default: a
	// small graph that needs no model (an image made, inverted, saved).
	Graph json.RawMessage
	// Workflow names a stored workflow to run instead of a graph
	// (PathREST only); its "seed" parameter, if any, is set per job.
	Workflow string
	// JobTimeout bounds one job. Default 5 minutes.
	JobTimeout time.Duration
	// HTTPClient makes the requests. Default: one with a keep-alive pool
	// sized for Clients.
	HTTPClient *http.Client
	// Warn is told about what may skew the numbers (nothing to vary per
	// job, so ComfyUI answers repeats from its cache). Default: ignored.
	Warn func(string)
}

// Result is what a run measured. Latencies are per job, from submission
// to the outputs downloaded, over the jobs that succeeded.
type Result struct {
	Path    string
	Clients int
	// Jobs succeeded and Failed did not; FirstError says why the first
	// failure failed.
	Jobs, Failed int
	FirstError   string
	Elapsed      time.Duration
	JobsPerSec   float64
	P50, P90     time.Duration
	P99, Mean    time.Duration
	Max          time.Duration
	// ServerCPUPerJob is the server's CPU time over the measured jobs,
	// divided by the jobs that ended (succeeded or failed); HasServerCPU is
	// false when the server exposes no process_cpu_seconds_total.
	ServerCPUPerJob time.Duration
	HasServerCPU    bool
}

func (c Config) withDefaults() (Config, error) {
	c.Server = strings.TrimRight(c.Server, "/")
	if c.Server == "" {
		return c, errors.New("bench: a server URL is required")
	}
	if c.Path == "" {
		c.Path = PathREST
	}
	if c.Path != PathREST && c.Path != PathComfy {
		return c, fmt.Errorf("bench: path %q: want %s or %s", c.Path, PathREST, PathComfy)
	}
	if c.Workflow != "" && (c.Path != PathREST || len(c.Graph) > 0) {
		return c, errors.New("bench: a workflow is run on the rest path, instead of a graph")
	}
	if c.Clients <= 0 {
		c.Clients = DefaultClients
	}
	if c.Clients > MaxClients || c.Jobs < 0 || c.Warmup < 0 || c.Duration < 0 {
		return c, fmt.Errorf("bench: clients must be 1..%d; jobs, warmup and duration not negative", MaxClients)
	}
	if c.Jobs == 0 && c.Duration == 0 {
		c.Duration = DefaultDuration
	}
	if c.JobTimeout <= 0 {
		c.JobTimeout = DefaultJobTimeout
	}
	if c.HTTPClient == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 2 * c.Clients // no new connection per request
		c.HTTPClient = &http.Client{Transport: tr}
	}
	if c.Warn == nil {
		c.Warn = func(string) {}
	}
	return c, nil
}

// driver runs jobs for one client, one at a time.
type driver interface {
	job(ctx context.Context, n int64) error
	close()
}

// runner is one run's shared state.
type runner struct {
	cfg  Config
	hc   *http.Client
	next atomic.Int64 // the next job number

	graphs    *graphSource // nil for the built-in graph
	seedParam bool         // the workflow has a "seed" parameter
	mu        sync.Mutex   // guards graphs' use
}

// Run drives the server as cfg says and reports what it measured. An
// interrupted run (ctx ends) returns what it measured so far, with ctx's
// error.
func Run(ctx context.Context, cfg Config) (Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Result{}, err
	}
	r := &runner{cfg: cfg, hc: cfg.HTTPClient}
	r.next.Store(randomBase()) // a run does not meet the last one's prompts in ComfyUI's cache
	if err := r.prepare(ctx); err != nil {
		return Result{}, err
	}
	drivers, err := r.drivers(ctx)
	if err != nil {
		return Result{}, err
	}
	defer func() {
		for _, d := range drivers {
			d.close()
		}
	}()
	if err := r.warmUp(ctx, drivers); err != nil {
		return Result{}, err
	}
	return r.measure(ctx, drivers)
}

// randomBase is a random start for job numbers, within EmptyImage's colors.
func randomBase() int64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return int64(binary.LittleEndian.Uint64(b[:]) % (maxColor / 2))
}

// drivers connects one driver per client.
func (r *runner) drivers(ctx context.Context) ([]driver, error) {
	ds := make([]driver, r.cfg.Clients)
	var g errgroup.Group
	g.SetLimit(16)
	for i := range ds {
		g.Go(func() error {
			d, err := r.newDriver(ctx)
			ds[i] = d
			return err
		})
	}
	err := g.Wait()
	if err != nil {
		for _, d := range ds {
			if d != nil {
				d.close()
			}
		}
		return nil, err
	}
	return ds, nil
}

func (r *runner) newDriver(ctx context.Context) (driver, error) {
	if r.cfg.Path == PathComfy {
		return newComfyDriver(ctx, r)
	}
	return newRESTDriver(r)
}

// warmUp runs each client's warm-up jobs; one failing stops the run, as
// the measured jobs would fail the same way.
func (r *runner) warmUp(ctx context.Context, drivers []driver) error {
	var g errgroup.Group
	for _, d := range drivers {
		g.Go(func() error {
			for range r.cfg.Warmup {
				if err := r.oneJob(ctx, d); err != nil {
					return fmt.Errorf("bench: a warm-up job failed: %w", err)
				}
			}
			return nil
		})
	}
	return g.Wait()
}

func (r *runner) oneJob(ctx context.Context, d driver) error {
	jctx, cancel := context.WithTimeout(ctx, r.cfg.JobTimeout)
	defer cancel()
	return d.job(jctx, r.next.Add(1))
}

// tally collects the measured jobs.
type tally struct {
	mu        sync.Mutex // guards the fields below
	latencies []time.Duration
	failed    int
	firstErr  error
}

func (t *tally) add(d time.Duration, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err == nil {
		t.latencies = append(t.latencies, d)
		return
	}
	t.failed++
	if t.firstErr == nil {
		t.firstErr = err
	}
}

// measure runs the measured jobs between two readings of the server's CPU.
func (r *runner) measure(ctx context.Context, drivers []driver) (Result, error) {
	cpu0, hasCPU, err := r.serverCPU(ctx)
	if err != nil {
		return Result{}, err
	}
	var t tally
	var left atomic.Int64
	left.Store(int64(r.cfg.Jobs))
	start := time.Now()
	deadline := start.Add(r.cfg.Duration)
	more := func() bool {
		if ctx.Err() != nil {
			return false
		}
		if r.cfg.Jobs > 0 {
			return left.Add(-1) >= 0
		}
		return time.Now().Before(deadline)
	}
	var wg sync.WaitGroup
	for _, d := range drivers {
		wg.Go(func() {
			for more() {
				t0 := time.Now()
				err := r.oneJob(ctx, d)
				if ctx.Err() == nil || err == nil {
					t.add(time.Since(t0), err)
				}
			}
		})
	}
	wg.Wait()
	res := Result{Path: r.cfg.Path, Clients: r.cfg.Clients, Elapsed: time.Since(start),
		Jobs: len(t.latencies), Failed: t.failed}
	if t.firstErr != nil {
		res.FirstError = t.firstErr.Error()
	}
	res.latencies(t.latencies)
	if res.Elapsed > 0 {
		res.JobsPerSec = float64(res.Jobs) / res.Elapsed.Seconds()
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	if cpu1, ok, err := r.serverCPU(ctx); err == nil && ok && hasCPU && res.Jobs+res.Failed > 0 {
		res.ServerCPUPerJob, res.HasServerCPU = (cpu1-cpu0)/time.Duration(res.Jobs+res.Failed), true
	}
	return res, nil
}

// prepare checks what the jobs will run: the graph, or the workflow.
func (r *runner) prepare(ctx context.Context) error {
	if r.cfg.Workflow != "" {
		return r.prepareWorkflow(ctx)
	}
	if len(r.cfg.Graph) == 0 {
		return nil // the built-in graph
	}
	g, err := newGraphSource(r.cfg.Graph)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if !g.varies {
		r.cfg.Warn("the graph has no seed or noise_seed input to vary: ComfyUI answers repeated prompts from its cache, which skews the numbers")
	}
	r.graphs = g
	return nil
}

// graph is job n's graph.
func (r *runner) graph(n int64) (json.RawMessage, error) {
	if r.graphs == nil {
		return builtinGraph(n), nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.graphs.graph(n)
}
