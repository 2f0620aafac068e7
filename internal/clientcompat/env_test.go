package clientcompat

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// installHint is the command that installs the clients, from the
// repository root.
const installHint = "(cd internal/clientcompat/js && npm ci --no-audit --no-fund)"

// Bounds of one client run. The scripts give up on their own after
// scriptTimeout; runTimeout is the backstop for a process that hangs.
const (
	scriptTimeout = 60 * time.Second
	runTimeout    = 90 * time.Second
)

// The npm packages the scripts import.
const (
	saintnoSDK   = "@saintno/comfyui-sdk"
	stableCanvas = "@stable-canvas/comfyui-client"
)

// env is what running the clients needs.
type env struct {
	node  string            // the node binary
	jsDir string            // absolute path of js/
	cfli  string            // absolute path of the cfli command's script
	pins  map[string]string // package → version pinned in js/package.json
}

// needEnv finds node and the installed libraries. When they are missing
// the test fails under CI (CI=true), which must install them, and is
// skipped elsewhere with the command to run.
func needEnv(tb testing.TB) env {
	tb.Helper()
	missing := func(format string, args ...any) {
		tb.Helper()
		msg := fmt.Sprintf(format, args...)
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%s; CI must run %s before the tests", msg, installHint)
		}
		tb.Skipf("%s; to run this test: %s", msg, installHint)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not installed: %v", err)
	}
	dir, err := filepath.Abs("js")
	if err != nil {
		tb.Fatal(err)
	}
	var manifest struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	readJSON(tb, filepath.Join(dir, "package.json"), &manifest)
	for _, pkg := range []string{saintnoSDK, stableCanvas, "ws"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg, "package.json")); err != nil {
			missing("npm package %s is not installed in %s", pkg, dir)
		}
	}
	var sdk struct {
		Bin map[string]string `json:"bin"`
	}
	readJSON(tb, filepath.Join(dir, "node_modules", saintnoSDK, "package.json"), &sdk)
	if sdk.Bin["cfli"] == "" {
		tb.Fatalf("%s declares no cfli command", saintnoSDK)
	}
	return env{
		node:  node,
		jsDir: dir,
		cfli:  filepath.Join(dir, "node_modules", saintnoSDK, filepath.FromSlash(sdk.Bin["cfli"])),
		pins:  manifest.Dependencies,
	}
}

func readJSON(tb testing.TB, path string, v any) {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
}

// node runs a Node script of js/ (or any script path) with args and
// returns its standard output; a failure ends the test with the script's
// standard error.
func (e env) runNode(tb testing.TB, ctx context.Context, script string, args ...string) []byte {
	tb.Helper()
	ctx, cancel := context.WithTimeout(ctx, runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.node, append([]string{script}, args...)...)
	cmd.Dir = e.jsDir
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "FORCE_COLOR=0")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// A child that keeps the pipes open must not hold the test.
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err := cmd.Run()
	tb.Logf("node %s %s (%v)", filepath.Base(script), strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	if err != nil {
		tb.Fatalf("node %s: %v\nstderr:\n%s\nstdout:\n%s", filepath.Base(script), err, tail(stderr.Bytes()), tail(stdout.Bytes()))
	}
	return stdout.Bytes()
}

// tail keeps the end of a long output, where the error is.
func tail(b []byte) string {
	const max = 8 << 10
	if len(b) > max {
		return "…" + string(b[len(b)-max:])
	}
	return string(b)
}
