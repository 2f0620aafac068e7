package fleet

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
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
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), simChildEnv+"="+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		stdin.Close()
		_ = cmd.Wait()
	})
	var urls []string
	sc := bufio.NewScanner(stdout)
	for len(urls) < n && sc.Scan() {
		urls = append(urls, sc.Text())
	}
	if len(urls) < n {
		tb.Fatalf("simulator child gave %d of %d URLs: %v", len(urls), n, sc.Err())
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	return urls
}
