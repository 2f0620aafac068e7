package comfyapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/comfygate/comfygate/comfy/comfysim"
	"github.com/comfygate/comfygate/internal/artifact"
	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/gateway"
	"github.com/comfygate/comfygate/internal/lifecycle"
	"github.com/comfygate/comfygate/internal/store/sqlite"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// env is the surface over a real SQLite store, artifact directory and
// event hub, with a simulator behind a miniFleet.
type env struct {
	h     *Handler
	srv   *httptest.Server
	store *sqlite.Store
	arts  *artifact.Local
	hub   *events.Hub
	gw    *gateway.Service
	fleet *miniFleet
	sim   *comfysim.Server
}

type envOptions struct {
	owner func(*http.Request) (string, error)
	sim   comfysim.Options
	cfg   func(*Config)
	gw    func(*gateway.Config) // changes the use cases' configuration
}

func newEnv(tb testing.TB, o envOptions) *env {
	tb.Helper()
	dir := tb.TempDir()
	e := &env{}
	var err error
	if e.store, err = sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(dir, "db", "comfygate.db"), Synchronous: "NORMAL", Logger: slog.New(slog.DiscardHandler)}); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = e.store.Close() })
	if e.arts, err = artifact.NewLocal(filepath.Join(dir, "artifacts"), artifact.LocalOptions{}); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { e.arts.Close() })
	e.hub = events.NewHub(events.Options{})
	tb.Cleanup(e.hub.Close)
	if o.sim.Checkpoints == nil {
		none := []string{}
		o.sim.Checkpoints, o.sim.Loras, o.sim.VAEs, o.sim.Embeddings = none, none, none, none
	}
	e.sim = comfysim.Start(tb, o.sim)
	e.fleet = startMiniFleet(tb, e.store, e.arts, e.hub, e.sim.URL())
	names := NewNames(e.store)
	e.gw = newTestGateway(tb, e.store, e.arts, e.hub, e.fleet, names, o.gw)
	cfg := Config{Store: e.store, Artifacts: e.arts, Hub: e.hub, Gateway: e.gw, Names: names, Owner: o.owner}
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	if e.h, err = New(cfg); err != nil {
		tb.Fatal(err)
	}
	e.fleet.tap = e.h
	if err := e.h.Start(context.Background()); err != nil {
		tb.Fatal(err)
	}
	e.fleet.run(tb)
	e.srv = httptest.NewServer(e.h)
	tb.Cleanup(func() {
		e.fleet.stop()
		if err := e.h.Stop(context.Background()); err != nil {
			tb.Errorf("Stop: %v", err)
		}
		e.srv.CloseClientConnections()
		e.srv.Close()
		e.h.cfg.HTTPClient.CloseIdleConnections()
	})
	return e
}

func TestStartStopContract(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	if err := e.h.Start(ctx); !errors.Is(err, lifecycle.ErrStarted) {
		t.Errorf("second Start = %v, want lifecycle.ErrStarted", err)
	}
	idle, err := New(e.h.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := idle.Stop(ctx); err != nil {
		t.Errorf("Stop before Start = %v, want nil", err)
	}
	if err := e.h.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.h.Stop(ctx); err != nil { // and the env's cleanup stops it again
		t.Errorf("second Stop = %v, want the first one's result (nil)", err)
	}
}
