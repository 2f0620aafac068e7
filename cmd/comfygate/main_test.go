package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain fails the run when a goroutine outlives the tests, and removes
// the binary the crash test built.
func TestMain(m *testing.M) {
	code := m.Run()
	if binary.dir != "" {
		_ = os.RemoveAll(binary.dir)
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// testTimeout bounds every wait of these tests: a generous ceiling that is
// only reached when something is broken, never a timing assertion.
const testTimeout = 60 * time.Second

// lineBuffer is an io.Writer that lets a test wait for output; it never
// blocks the writer.
type lineBuffer struct {
	mu      sync.Mutex // guards buf
	buf     bytes.Buffer
	changed chan struct{} // cap 1
}

func newLineBuffer() *lineBuffer { return &lineBuffer{changed: make(chan struct{}, 1)} }

func (b *lineBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case b.changed <- struct{}{}:
	default:
	}
	return b.buf.Write(p)
}

func (b *lineBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitMatch waits until the output matches re and returns the submatches.
func (b *lineBuffer) waitMatch(ctx context.Context, re *regexp.Regexp) ([]string, error) {
	for {
		if m := re.FindStringSubmatch(b.String()); m != nil {
			return m, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-b.changed:
		}
	}
}

var listeningLine = regexp.MustCompile(`comfygate listening on (http://[^ ]+) \(docs: (http://[^ ]+/docs)\)\n`)

// gateway is a comfygate started in-process by run, as main would.
type gateway struct {
	URL    string
	stdout *lineBuffer
	stderr *lineBuffer
	cancel context.CancelFunc
	done   chan error
}

// startRun runs the command line args in-process and waits for the
// listening line. Cleanup stops it as SIGTERM would and checks it ended
// cleanly.
func startRun(tb testing.TB, args ...string) *gateway {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	g := &gateway{stdout: newLineBuffer(), stderr: newLineBuffer(), cancel: cancel, done: make(chan error, 1)}
	go func() { g.done <- run(ctx, args, g.stdout, g.stderr) }()
	tb.Cleanup(func() { g.stop(tb) })
	wctx, wcancel := context.WithTimeout(ctx, testTimeout)
	defer wcancel()
	waitCtx, stopWaiting := context.WithCancel(wctx)
	defer stopWaiting()
	go func() { // a run that fails at start never prints the line
		select {
		case err := <-g.done:
			g.done <- err
			stopWaiting()
		case <-waitCtx.Done():
		}
	}()
	m, err := g.stdout.waitMatch(waitCtx, listeningLine)
	if err != nil {
		tb.Fatalf("comfygate did not start: %v\nstdout:\n%s\nstderr:\n%s", err, g.stdout, g.stderr)
	}
	g.URL = m[1]
	return g
}

// stop cancels the run and waits for it to return.
func (g *gateway) stop(tb testing.TB) {
	tb.Helper()
	g.cancel()
	select {
	case err := <-g.done:
		g.done <- err // later calls see it too
		if err != nil && !errors.Is(err, context.Canceled) {
			tb.Errorf("comfygate run: %v\nstderr:\n%s", err, g.stderr)
		}
	case <-time.After(testTimeout):
		tb.Errorf("comfygate did not stop\nstderr:\n%s", g.stderr)
	}
}

// newClient returns an HTTP client whose idle connections are closed at
// cleanup, so that no connection goroutine outlives the test.
func newClient(tb testing.TB) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	c := &http.Client{Transport: tr}
	tb.Cleanup(tr.CloseIdleConnections)
	return c
}
