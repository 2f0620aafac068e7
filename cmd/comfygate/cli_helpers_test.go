package main

import (
	"context"
	"flag"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/comfygate/comfygate/internal/httpapi"
	"github.com/comfygate/comfygate/internal/httpapi/httpapitest"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata/")

// cliEpoch is when every fake job of these tests was created.
var cliEpoch = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

// startFakeAPI serves the real REST handler over a fake service and
// returns its URL.
func startFakeAPI(tb testing.TB, svc *httpapitest.Service) string {
	tb.Helper()
	h, err := httpapi.New(svc, httpapi.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	ts := httptest.NewServer(h)
	tb.Cleanup(func() { h.Drain(); ts.Close() })
	return ts.URL
}

// cliResult is what one in-process comfygate invocation did.
type cliResult struct {
	stdout, stderr string
	err            error
}

// runCLI runs comfygate with args as main would, bounded by testTimeout.
func runCLI(tb testing.TB, args ...string) cliResult {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	return runCLIContext(ctx, args...)
}

func runCLIContext(ctx context.Context, args ...string) cliResult {
	var stdout, stderr strings.Builder
	err := run(ctx, args, &stdout, &stderr)
	return cliResult{stdout: stdout.String(), stderr: stderr.String(), err: err}
}

// mustCLI runs comfygate and fails the test when it fails.
func mustCLI(tb testing.TB, args ...string) cliResult {
	tb.Helper()
	r := runCLI(tb, args...)
	if r.err != nil {
		tb.Fatalf("comfygate %s: %v\nstderr:\n%s", strings.Join(args, " "), r.err, r.stderr)
	}
	return r
}

// checkGolden compares got with testdata/name; -update rewrites it.
func checkGolden(tb testing.TB, name, got string) {
	tb.Helper()
	path := filepath.Join("testdata", name)
	if *updateGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		tb.Errorf("%s differs (-want +got; -update rewrites it):\n%s", path, diff)
	}
}

var (
	uuidRE    = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	elapsedRE = regexp.MustCompile(`\[ *\d+\.\ds\]`)
)

// normalise replaces what differs between runs: job ids and timings.
func normalise(s string) string {
	s = uuidRE.ReplaceAllString(s, "<ID>")
	return elapsedRE.ReplaceAllString(s, "[T]")
}
