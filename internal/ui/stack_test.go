package ui_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/comfygate/comfygate/comfy/comfysim"
	"github.com/comfygate/comfygate/internal/httpapi"
	"github.com/comfygate/comfygate/internal/server"
	"github.com/comfygate/comfygate/internal/ui"
)

// testTimeout bounds a whole browser scenario; reaching it means the UI
// or the stack is broken, not that the machine is slow.
const testTimeout = 90 * time.Second

// startStack starts a real comfygate (store, fleet of simulators, REST API,
// the txt2img example, and this UI, as the server mounts it) on a free port
// and returns its base URL.
func startStack(tb testing.TB, apiKey string, stepDelay time.Duration, mods ...func(*server.Config)) string {
	tb.Helper()
	cfg := server.Config{
		Listen: "127.0.0.1:0", DataDir: tb.TempDir(), SimBackends: 2, Examples: true,
		Sim: comfysim.Options{StepDelay: stepDelay, PreviewMethod: "auto", PreviewSize: 64},
	}
	for _, m := range mods {
		m(&cfg)
	}
	if apiKey != "" {
		k, err := server.ParseAPIKey("ui-test:" + apiKey)
		if err != nil {
			tb.Fatal(err)
		}
		cfg.APIKeys = []httpapi.APIKey{k}
	}
	srv, err := server.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := srv.Stop(ctx); err != nil {
			tb.Errorf("stop server: %v", err)
		}
	})
	checkMounted(tb, srv.URL())
	return srv.URL()
}

// checkMounted fails unless the server serves this package's page at /ui/
// and sends its bare host there.
func checkMounted(tb testing.TB, base string) {
	tb.Helper()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(base + "/")
	if err != nil {
		tb.Fatal(err)
	}
	res.Body.Close()
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusFound || loc != ui.Prefix {
		tb.Errorf("GET / = %d to %q, want 302 to %s", res.StatusCode, loc, ui.Prefix)
	}
	res, err = c.Get(base + ui.Prefix)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	page, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK || !strings.Contains(string(page), "/js/main.js") {
		tb.Fatalf("the server does not serve the UI at %s (status %d): mount ui.Handler()", ui.Prefix, res.StatusCode)
	}
}
