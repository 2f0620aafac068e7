package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/peterbourgon/ff/v4"
	"github.com/peterbourgon/ff/v4/ffval"

	"github.com/comfygate/comfygate/internal/bench"
)

// benchFlags are the settings of `comfygate bench`.
type benchFlags struct {
	*clientFlags
	path       string
	clients    int
	duration   time.Duration
	jobs       int
	warmup     int
	graphFile  string
	workflow   string
	jobTimeout time.Duration
}

func newBenchCommand(stdout, stderr io.Writer) *ff.Command {
	fs := ff.NewFlagSet("bench")
	f := &benchFlags{clientFlags: addClientFlags(fs)}
	addEnum(fs, "path", "surface the clients use: rest (POST /v1/jobs, the job's events, its artifacts) or comfy (a ComfyUI client: /ws, POST /prompt, /history, /view)", &f.path, bench.PathREST, bench.PathComfy)
	fs.IntVar(&f.clients, 0, "clients", bench.DefaultClients, "clients running at once, each one job at a time")
	fs.DurationVar(&f.duration, 0, "duration", bench.DefaultDuration, "how long clients start jobs (ignored with --jobs)")
	fs.IntVar(&f.jobs, 0, "jobs", 0, "measure this many jobs instead of a duration")
	fs.IntVar(&f.warmup, 0, "warmup", 1, "unmeasured jobs per client first")
	addFlag(fs, 0, "graph", "FILE", "API-format graph to run; its seed and noise_seed inputs are set per job (default: a model-free graph: an image made, inverted, saved)", ffval.NewValue(&f.graphFile))
	addFlag(fs, 0, "workflow", "NAME", "stored workflow to run instead (rest path); its seed parameter is set per job", ffval.NewValue(&f.workflow))
	fs.DurationVar(&f.jobTimeout, 0, "job-timeout", bench.DefaultJobTimeout, "longest one job may take")
	return &ff.Command{
		Name:      "bench",
		Usage:     "comfygate bench [--path rest|comfy] [--clients N] [--duration D | --jobs N] [flags]",
		ShortHelp: "load a running gateway with concurrent clients; print jobs/s, latency and its CPU per job",
		LongHelp: "Drives --server over real sockets with --clients concurrent clients, each running one job " +
			"at a time from submission to its outputs downloaded, and prints jobs/s, per-job latency " +
			"percentiles and the server's CPU time per job (from its /metrics, read before and after). " +
			"With --path comfy it can be pointed at a ComfyUI too, to compare.\n\n" +
			"  comfygate bench --clients 8 --duration 30s\n" +
			"  comfygate bench --path comfy --jobs 1000 --graph my-graph.json",
		Flags: fs,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) != 0 {
				return fmt.Errorf("bench: want no arguments, got %q: %w", args, errUsage)
			}
			return runBench(ctx, f, stdout, stderr)
		},
	}
}

func runBench(ctx context.Context, f *benchFlags, stdout, stderr io.Writer) error {
	cfg := bench.Config{Server: f.server, Key: f.apiKey, Path: f.path, Clients: f.clients, Jobs: f.jobs,
		Duration: f.duration, Warmup: f.warmup, Workflow: f.workflow, JobTimeout: f.jobTimeout,
		Warn: func(msg string) { fmt.Fprintln(stderr, "warning: "+msg) }}
	if f.jobs > 0 {
		cfg.Duration = 0
	}
	if f.graphFile != "" {
		g, err := os.ReadFile(f.graphFile)
		if err != nil {
			return fmt.Errorf("--graph: %w", err)
		}
		cfg.Graph = g
	}
	res, err := bench.Run(ctx, cfg)
	if err != nil && (errors.Is(err, context.Canceled) || res.Jobs+res.Failed == 0) {
		return err
	}
	s := &session{stdout: stdout, stderr: stderr, json: f.json}
	if err := s.show(benchReport(res), func(w io.Writer) error { return printBench(w, res) }); err != nil {
		return err
	}
	if res.Failed > 0 {
		return fmt.Errorf("%d of %d jobs failed; the first: %s", res.Failed, res.Jobs+res.Failed, res.FirstError)
	}
	return nil
}

// benchJSON is the --json form of a result: times in milliseconds.
type benchJSON struct {
	Path            string   `json:"path"`
	Clients         int      `json:"clients"`
	Jobs            int      `json:"jobs"`
	Failed          int      `json:"failed"`
	FirstError      string   `json:"first_error,omitempty"`
	Seconds         float64  `json:"seconds"`
	JobsPerSecond   float64  `json:"jobs_per_second"`
	P50MS           float64  `json:"p50_ms"`
	P90MS           float64  `json:"p90_ms"`
	P99MS           float64  `json:"p99_ms"`
	MeanMS          float64  `json:"mean_ms"`
	MaxMS           float64  `json:"max_ms"`
	ServerCPUPerJob *float64 `json:"server_cpu_ms_per_job"`
}

func benchReport(r bench.Result) benchJSON {
	out := benchJSON{Path: r.Path, Clients: r.Clients, Jobs: r.Jobs, Failed: r.Failed, FirstError: r.FirstError,
		Seconds: r.Elapsed.Seconds(), JobsPerSecond: r.JobsPerSec, P50MS: ms(r.P50), P90MS: ms(r.P90),
		P99MS: ms(r.P99), MeanMS: ms(r.Mean), MaxMS: ms(r.Max)}
	if r.HasServerCPU {
		v := ms(r.ServerCPUPerJob)
		out.ServerCPUPerJob = &v
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func printBench(w io.Writer, r bench.Result) error {
	cpu := "not reported (the server has no process_cpu_seconds_total in /metrics)"
	if r.HasServerCPU {
		cpu = fmt.Sprintf("%.2f ms per job", ms(r.ServerCPUPerJob))
	}
	return fields(w, [][2]string{
		{"path", r.Path},
		{"clients", strconv.Itoa(r.Clients)},
		{"jobs", fmt.Sprintf("%d succeeded, %d failed in %.1fs", r.Jobs, r.Failed, r.Elapsed.Seconds())},
		{"jobs/s", fmt.Sprintf("%.1f", r.JobsPerSec)},
		{"latency", fmt.Sprintf("p50 %.1f ms, p90 %.1f ms, p99 %.1f ms (mean %.1f, max %.1f)",
			ms(r.P50), ms(r.P90), ms(r.P99), ms(r.Mean), ms(r.Max))},
		{"server CPU", cpu},
	})
}
