package main

import (
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/peterbourgon/ff/v4"

	"github.com/comfygate/comfygate/internal/httpapi"
)

// TestProxyAllowAndMetricsKeyFlags: --proxy-allow repeats and
// --metrics-key is hashed at once, from flags, the environment
// (COMFYGATE_PROXY_ALLOW takes a comma-separated list) or the config file.
func TestProxyAllowAndMetricsKeyFlags(t *testing.T) {
	file := writeConfig(t, "comfygate.yaml", "proxy-allow: [/from_file, /other]\nmetrics-key: file-metrics-key-0123\n")
	for _, tc := range []struct {
		name      string
		args      []string
		env       map[string]string
		allow     []string
		metricKey string
	}{
		{name: "none"},
		{name: "flags", args: []string{"--proxy-allow", "/my_node", "--proxy-allow", "/sim/stats", "--metrics-key", "scraper-key-0123456"},
			allow: []string{"/my_node", "/sim/stats"}, metricKey: "scraper-key-0123456"},
		{name: "environment", env: map[string]string{"COMFYGATE_PROXY_ALLOW": "/a, /b/c", "COMFYGATE_METRICS_KEY": "env-metrics-key-0123"},
			allow: []string{"/a", "/b/c"}, metricKey: "env-metrics-key-0123"},
		{name: "config file", args: []string{"--config", file}, allow: []string{"/from_file", "/other"}, metricKey: "file-metrics-key-0123"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, name := range []string{"PROXY_ALLOW", "METRICS_KEY", "CONFIG"} {
				t.Setenv("COMFYGATE_"+name, "")
			}
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			f, fs := newServeFlags("serve", serveDefaults())
			cmd := &ff.Command{Name: "serve", Flags: fs}
			if err := cmd.Parse(tc.args, ff.WithEnvVarPrefix("COMFYGATE")); err != nil {
				t.Fatal(err)
			}
			cfg, err := f.serverConfig(io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.allow, []string(cfg.ProxyAllow)); diff != "" {
				t.Errorf("ProxyAllow (-want +got):\n%s", diff)
			}
			var want [32]byte
			if tc.metricKey != "" {
				want = httpapi.HashKey(tc.metricKey)
			}
			if cfg.MetricsKeyHash != want {
				t.Errorf("MetricsKeyHash = %x, want the hash of %q", cfg.MetricsKeyHash, tc.metricKey)
			}
		})
	}
	f, fs := newServeFlags("serve", serveDefaults())
	if err := (&ff.Command{Name: "serve", Flags: fs}).Parse([]string{"--metrics-key", "short"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.serverConfig(io.Discard); err == nil || !strings.Contains(err.Error(), "16 characters") {
		t.Errorf("a short metrics key: %v", err)
	}
}
