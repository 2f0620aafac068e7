package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"github.com/comfygate/comfygate/internal/testchild"
	"io"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/comfygate/comfygate/comfy/comfysim"
)

// childEnv makes the test binary run one helper process of the cost
// benchmarks instead of the tests (see TestMain): "sims N" serves N
// simulators, "gateway URL,URL,…" a comfygate in front of them. Each prints
// its URLs, one per line, then answers every "stats" line on stdin with its
// own CPU time and memory, and stops when stdin closes. Running comfygate
// in a process of its own is what lets a benchmark charge it exactly its own
// CPU: neither the clients nor the simulators are counted.
const childEnv = "COMFYGATE_BENCH_CHILD"

// profileEnv names a file for the gateway helper's CPU profile, written
// over its whole life (run one sub-benchmark at a time, and
// go tool pprof the file): where comfygate's own CPU per job goes.
const profileEnv = "COMFYGATE_BENCH_CPUPROFILE"

// runChild runs the helper process named by spec; it returns the exit code.
func runChild(spec string) int {
	kind, arg, _ := strings.Cut(spec, " ")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stop func()
	var err error
	switch kind {
	case "sims":
		stop, err = serveSims(ctx, arg)
	case "gateway":
		stopProfile := startProfile(os.Getenv(profileEnv))
		defer stopProfile()
		stop, err = serveGateway(ctx, arg)
	default:
		err = fmt.Errorf("unknown child %q", spec)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench child:", err)
		return 1
	}
	answerStats(os.Stdin, os.Stdout)
	cancel()
	stop()
	return 0
}

// startProfile starts a CPU profile written to path, if path is set, and
// returns what stops it.
func startProfile(path string) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench child: cpu profile:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "bench child: cpu profile:", err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// serveSims serves n zero-delay simulators and prints their URLs.
func serveSims(ctx context.Context, n string) (func(), error) {
	count, err := strconv.Atoi(n)
	if err != nil || count < 1 {
		return nil, fmt.Errorf("bad simulator count %q", n)
	}
	done := make(chan struct{}, count)
	var sims []*comfysim.Server
	stop := func() {
		for range sims {
			<-done
		}
		for _, s := range sims {
			s.Close()
		}
	}
	for range count {
		s, err := comfysim.New(comfysim.Options{})
		if err != nil {
			stop()
			return nil, err
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			s.Close()
			stop()
			return nil, err
		}
		sims = append(sims, s)
		go func() { _ = s.Serve(ctx, ln); done <- struct{}{} }()
		fmt.Println("http://" + ln.Addr().String())
	}
	return stop, nil
}

// serveGateway runs comfygate, as `comfygate serve` does, in front of the
// comma-separated backend URLs, with its data in a temporary directory.
func serveGateway(ctx context.Context, urls string) (func(), error) {
	dir, err := os.MkdirTemp("", "comfygate-bench-")
	if err != nil {
		return nil, err
	}
	cfg := Config{Listen: "127.0.0.1:0", DataDir: dir}
	for _, u := range strings.Split(urls, ",") {
		cfg.Backends = append(cfg.Backends, BackendConfig{URL: u})
	}
	s, err := New(cfg)
	if err == nil {
		err = s.Start(ctx)
	}
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	fmt.Println(s.URL())
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		_ = s.Stop(sctx)
		_ = os.RemoveAll(dir)
	}, nil
}

// procStats is what a helper process reports about itself.
type procStats struct {
	CPU     time.Duration // user + system time so far
	PeakRSS int64         // the most resident memory so far, bytes
	RSS     int64         // resident memory now, bytes (0 where unknown)
}

// answerStats answers "stats" lines until r ends.
func answerStats(r io.Reader, w io.Writer) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if sc.Text() == "stats" {
			b, _ := json.Marshal(selfStats())
			fmt.Fprintln(w, string(b))
		}
	}
}

func selfStats() procStats {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return procStats{
		CPU:     time.Duration(ru.Utime.Nano() + ru.Stime.Nano()),
		PeakRSS: maxRSSBytes(ru.Maxrss),
		RSS:     currentRSS(),
	}
}

// maxRSSBytes converts getrusage's ru_maxrss: kilobytes on Linux, bytes
// on macOS.
func maxRSSBytes(v int64) int64 {
	if runtime.GOOS == "darwin" {
		return v
	}
	return v << 10
}

// currentRSS reads the resident set size from /proc (Linux); 0 elsewhere.
func currentRSS() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// child is a running helper process.
type child struct{ *testchild.Child }

// startChild starts a helper process that prints n URLs; it stops at
// cleanup.
func startChild(tb testing.TB, spec string, n int) *child {
	tb.Helper()
	return &child{testchild.Start(tb, childEnv, spec, n)}
}

// stats asks the child for its CPU time and memory.
func (c *child) stats(tb testing.TB) procStats {
	tb.Helper()
	if _, err := io.WriteString(c.Stdin, "stats\n"); err != nil {
		tb.Fatal(err)
	}
	var s procStats
	if !c.Out.Scan() {
		tb.Fatalf("child stats: %v", c.Out.Err())
	}
	if err := json.Unmarshal(c.Out.Bytes(), &s); err != nil {
		tb.Fatalf("child stats %q: %v", c.Out.Text(), err)
	}
	return s
}
