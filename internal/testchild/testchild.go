// Package testchild runs a helper process for tests: the test binary itself
// started again with an environment variable that makes its TestMain serve
// something (simulators, a gateway) instead of running tests, so that the
// helper's CPU and memory are not the test's. The child prints one URL per
// line when ready, reads commands on stdin, and stops when stdin closes.
package testchild

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"testing"
)

// Child is a running helper process.
type Child struct {
	// URLs are the first lines it printed.
	URLs []string
	// Stdin takes commands; closing it stops the child.
	Stdin io.WriteCloser
	// Out reads what it prints after the URLs.
	Out *bufio.Scanner
}

// Start runs the test binary again with env=value set, no tests selected,
// and waits for n URLs. The child is stopped and waited for at cleanup.
func Start(tb testing.TB, env, value string, n int) *Child {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env+"="+value)
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
	c := &Child{Stdin: stdin, Out: bufio.NewScanner(stdout)}
	for len(c.URLs) < n && c.Out.Scan() {
		c.URLs = append(c.URLs, c.Out.Text())
	}
	if len(c.URLs) < n {
		tb.Fatalf("child %s=%q gave %d of %d URLs: %v", env, value, len(c.URLs), n, c.Out.Err())
	}
	return c
}

// Discard reads and drops whatever the child prints from now on, so that
// it never blocks on a full pipe; it ends when the child does.
func (c *Child) Discard() {
	go func() {
		for c.Out.Scan() {
		}
	}()
}
