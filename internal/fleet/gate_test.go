package fleet

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/comfy/comfysim"
)

// gate is a simulator served behind a handler a test controls: it can
// refuse one route ("POST /queue") with a 500, and run a hook before a
// request is passed on (to make the simulator move at a precise moment).
type gate struct {
	*sim

	mu      sync.Mutex // guards the fields below
	route   string
	refuseN int
	hooks   map[string]func(body []byte)
}

// startGatedSim runs a simulator behind a gate.
func startGatedSim(tb testing.TB, opts comfysim.Options) *gate {
	tb.Helper()
	srv, err := comfysim.New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	g := &gate{sim: &sim{Server: srv}, hooks: map[string]func([]byte){}}
	ts := httptest.NewServer(http.HandlerFunc(g.serve))
	tb.Cleanup(func() {
		srv.Close()
		ts.Close()
	})
	g.url, g.addr = ts.URL, ts.Listener.Addr().String()
	return g
}

func (g *gate) serve(w http.ResponseWriter, r *http.Request) {
	key := r.Method + " " + strings.TrimPrefix(r.URL.Path, "/api")
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	g.mu.Lock()
	refuse := g.route != "" && key == g.route
	if refuse {
		g.refuseN++
	}
	hook := g.hooks[key]
	g.mu.Unlock()
	if refuse {
		http.Error(w, "refused by the test", http.StatusInternalServerError)
		return
	}
	if hook != nil {
		hook(body)
	}
	g.Handler().ServeHTTP(w, r)
}

// refuse makes route ("POST /queue") fail with 500; "" refuses nothing.
func (g *gate) refuse(route string) {
	g.mu.Lock()
	g.route = route
	g.mu.Unlock()
}

// refused counts the requests refused so far.
func (g *gate) refused() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.refuseN
}

// before runs hook with the request body before each request to route is
// passed on.
func (g *gate) before(route string, hook func(body []byte)) {
	g.mu.Lock()
	g.hooks[route] = hook
	g.mu.Unlock()
}

// queue reads the simulator's /queue; empty on error (a gate hook may not
// fail a test).
func (g *gate) queue() comfy.QueueStatus {
	c, err := comfy.NewClient(g.url)
	if err != nil {
		return comfy.QueueStatus{}
	}
	q, _ := c.Queue(context.Background())
	return q
}
