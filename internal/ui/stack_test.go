package ui_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
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
// the txt2img example) on a free port and returns the base URL the browser
// should open. When the server does not mount the UI itself yet, the UI is
// served by a front that passes every other path to the server, so the
// page and the API share one origin either way.
func startStack(tb testing.TB, apiKey string, stepDelay time.Duration) string {
	tb.Helper()
	cfg := server.Config{
		Listen: "127.0.0.1:0", DataDir: tb.TempDir(), SimBackends: 2, Examples: true,
		Sim: comfysim.Options{StepDelay: stepDelay, PreviewMethod: "auto", PreviewSize: 64},
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
	if servesUI(tb, srv.URL()) {
		return srv.URL()
	}
	return startFront(tb, srv.URL())
}

// servesUI reports whether the server mounts this package's handler.
func servesUI(tb testing.TB, base string) bool {
	tb.Helper()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr}).Get(base + ui.Prefix)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	page, err := io.ReadAll(res.Body)
	return err == nil && res.StatusCode == http.StatusOK && strings.Contains(string(page), "/js/main.js")
}

// startFront serves the UI and proxies the rest to upstream. The proxy
// flushes event streams at once (it recognises text/event-stream).
func startFront(tb testing.TB, upstream string) string {
	tb.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		tb.Fatal(err)
	}
	tr := &http.Transport{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.Transport = tr
	h := ui.Handler()
	mux := http.NewServeMux()
	mux.Handle(ui.Prefix, h)
	mux.Handle("GET /{$}", h)
	mux.Handle("/", proxy)
	front := httptest.NewServer(mux)
	tb.Cleanup(func() {
		front.Close()
		tr.CloseIdleConnections()
	})
	return front.URL
}
