package fleet

import (
	"context"
	"fmt"
	"github.com/comfygate/comfygate/internal/testchild"
	"io"
	"net"
	"os"
	"strconv"
	"testing"

	"github.com/comfygate/comfygate/comfy/comfysim"
)

// simChildEnv makes the test binary serve simulators instead of running
// tests (see TestMain). Benchmarks use it to keep the simulators' CPU out
// of the process whose cost they measure.
const simChildEnv = "FLEET_SIM_CHILD"

// runSimChild serves n simulators, prints their URLs one per line, and
// stops when stdin closes.
func runSimChild(n string) int {
	count, err := strconv.Atoi(n)
	if err != nil || count < 1 {
		fmt.Fprintln(os.Stderr, "bad", simChildEnv, n)
		return 2
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{}, count)
	var sims []*comfysim.Server
	for range count {
		s, err := comfysim.New(comfysim.Options{})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		sims = append(sims, s)
		go func() { _ = s.Serve(ctx, ln); done <- struct{}{} }()
		fmt.Println("http://" + ln.Addr().String())
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	cancel()
	for range count {
		<-done
	}
	for _, s := range sims {
		s.Close()
	}
	return 0
}

// startChildSims runs n simulators in a child process and returns their
// URLs; the child stops at cleanup.
func startChildSims(tb testing.TB, n int) []string {
	tb.Helper()
	c := testchild.Start(tb, simChildEnv, strconv.Itoa(n), n)
	c.Discard()
	return c.URLs
}
