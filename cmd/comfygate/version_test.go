package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

func TestVersionFrom(t *testing.T) {
	t.Parallel()
	info := func(v string) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			return &debug.BuildInfo{Main: debug.Module{Path: "github.com/comfygate/comfygate", Version: v}}, true
		}
	}
	for _, tc := range []struct {
		name   string
		linked string
		info   func() (*debug.BuildInfo, bool)
		want   string
	}{
		{"linked wins over the build info", "v1.4.0", info("v1.3.0"), "v1.4.0"},
		{"go install of a tag", "", info("v1.3.0"), "v1.3.0"},
		{"go build in a git checkout", "", info("v0.0.0-20260101120000-0123456789ab+dirty"), "v0.0.0-20260101120000-0123456789ab+dirty"},
		{"go run or go test", "", info("(devel)"), develVersion},
		{"no build info", "", func() (*debug.BuildInfo, bool) { return nil, false }, develVersion},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := versionFrom(tc.linked, tc.info); got != tc.want {
				t.Errorf("versionFrom = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestVersionAgrees: `comfygate version`, serve's start log and the API
// version in /openapi.json say the same, in this process (no version
// linked) and in a binary built with -ldflags -X main.version=….
func TestVersionAgrees(t *testing.T) {
	t.Run("in process", func(t *testing.T) {
		want := buildVersion()
		if got := mustCLI(t, "version").stdout; got != "comfygate "+want+"\n" {
			t.Errorf("comfygate version printed %q, want %q", got, "comfygate "+want+"\n")
		}
		g := startRun(t, "serve", "--listen", "127.0.0.1:0", "--data", t.TempDir())
		checkServedVersion(t, g.URL, g.stderr, want)
	})
	t.Run("linked", func(t *testing.T) {
		if testing.Short() {
			t.Skip("builds the binary")
		}
		out, err := exec.Command(buildBinary(t), "version").Output()
		if err != nil || string(out) != "comfygate "+linkedVersion+"\n" {
			t.Errorf("comfygate version printed %q (%v), want %q", out, err, "comfygate "+linkedVersion+"\n")
		}
		p := startProcess(t, "serve", "--listen", "127.0.0.1:0", "--data", t.TempDir())
		checkServedVersion(t, p.URL, p.stderr, linkedVersion)
	})
}

// checkServedVersion checks a running gateway's start log and /openapi.json.
func checkServedVersion(tb testing.TB, base string, log *lineBuffer, want string) {
	tb.Helper()
	// The listening line (stdout) may be read before the start log line
	// (stderr) has come through its own pipe.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := log.waitMatch(ctx, regexp.MustCompile(`msg="comfygate started"`)); err != nil {
		tb.Errorf("no start log line: %v; log:\n%s", err, log)
	}
	started := ""
	for line := range strings.Lines(log.String()) {
		if strings.Contains(line, `msg="comfygate started"`) {
			started = line
		}
	}
	if !strings.Contains(started, " version="+want+" ") {
		tb.Errorf("start log %q does not say version=%s; log:\n%s", started, want, log)
	}
	var doc struct {
		Info struct{ Version string } `json:"info"`
	}
	r := newAPIClient(tb, base).must(http.StatusOK, "GET", "/openapi.json", nil)
	if err := json.Unmarshal(r.Body, &doc); err != nil || doc.Info.Version != want {
		tb.Errorf("/openapi.json info.version = %q (%v), want %q", doc.Info.Version, err, want)
	}
}
