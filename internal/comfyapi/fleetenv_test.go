package comfyapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/comfygate/comfygate/comfy/comfysim"
	"github.com/comfygate/comfygate/internal/artifact"
	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/fleet"
	"github.com/comfygate/comfygate/internal/gateway"
	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/internal/store/sqlite"
)

// fleetEnv is the surface in front of the real dispatcher and simulated
// backends: what comfygate serve runs, minus the other surfaces.
type fleetEnv struct {
	h     *Handler
	srv   *httptest.Server
	store *sqlite.Store
	fleet *fleet.Fleet
	sims  []*comfysim.Server
}

type fleetEnvOptions struct {
	backends    int
	sim         comfysim.Options
	maxInflight int
	// writes, when set, wraps the store of the fleet and the surface and
	// counts its writes.
	writes *writeCounter
	// gateway, when set, wraps the use cases the surface calls.
	gateway func(Gateway) Gateway
}

// blobs is the artifact store as the fleet sees it.
type blobs struct{ s artifact.Store }

func (b blobs) PutBlob(ctx context.Context, r io.Reader, ct string) (string, int64, error) {
	info, err := b.s.Put(ctx, r, artifact.PutOptions{ContentType: ct})
	return info.ID, info.Size, err
}

func (b blobs) OpenBlob(ctx context.Context, id string) (io.ReadCloser, error) {
	blob, err := b.s.Open(ctx, id)
	if errors.Is(err, artifact.ErrNotFound) {
		return nil, fleet.ErrBlobNotFound
	}
	return blob, err
}

// dispatcher is the real dispatcher as the use cases see it (the server's
// adapter, reduced to what this surface reads of a backend).
type dispatcher struct{ *fleet.Fleet }

func (d dispatcher) Enqueue(j *job.Job) { d.Fleet.EnqueueJob(j) }

func (d dispatcher) Backends() []gateway.Backend {
	var out []gateway.Backend
	for _, b := range d.Fleet.Backends() {
		out = append(out, gateway.Backend{ID: b.ID, URL: b.URL, State: string(b.State)})
	}
	return out
}

func newFleetEnv(tb testing.TB, o fleetEnvOptions) *fleetEnv {
	tb.Helper()
	dir := tb.TempDir()
	e := &fleetEnv{}
	var err error
	if e.store, err = sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(dir, "db"), Synchronous: "NORMAL", Logger: slog.New(slog.DiscardHandler)}); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = e.store.Close() })
	arts, err := artifact.NewLocal(filepath.Join(dir, "artifacts"), artifact.LocalOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { arts.Close() })
	hub := events.NewHub(events.Options{})
	tb.Cleanup(hub.Close)
	var backends []fleet.BackendConfig
	for i := range max(o.backends, 1) {
		s := comfysim.Start(tb, o.sim)
		e.sims = append(e.sims, s)
		backends = append(backends, fleet.BackendConfig{ID: fmt.Sprintf("sim-%d", i+1), URL: s.URL(), MaxInflight: o.maxInflight})
	}
	late := &TapLater{}
	var store interface {
		job.Store
		Store
	} = e.store
	if o.writes != nil {
		o.writes.Store, store = e.store, o.writes
	}
	names := NewNames(store)
	e.fleet, err = fleet.New(fleet.Config{Backends: backends, Store: store, Artifacts: blobs{arts}, Hub: hub, Tap: late, EndNames: names,
		ProbeInterval: 100 * time.Millisecond, ProbeTimeout: 10 * time.Second, ReconnectBackoff: 20 * time.Millisecond, InstanceID: "test"})
	if err != nil {
		tb.Fatal(err)
	}
	gw := newTestGateway(tb, e.store, arts, hub, dispatcher{e.fleet}, names)
	var surfaceGW Gateway = gw
	if o.gateway != nil {
		surfaceGW = o.gateway(gw)
	}
	if e.h, err = New(Config{Store: store, Artifacts: arts, Hub: hub, Gateway: surfaceGW, Names: names}); err != nil {
		tb.Fatal(err)
	}
	late.Set(e.h)
	if err := e.h.Start(context.Background()); err != nil {
		tb.Fatal(err)
	}
	if err := e.fleet.Start(context.Background()); err != nil {
		tb.Fatal(err)
	}
	e.srv = httptest.NewServer(e.h)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := e.h.Stop(ctx); err != nil {
			tb.Errorf("stop surface: %v", err)
		}
		e.srv.CloseClientConnections()
		e.srv.Close()
		if err := e.fleet.Stop(ctx); err != nil {
			tb.Errorf("stop fleet: %v", err)
		}
		e.h.cfg.HTTPClient.CloseIdleConnections()
	})
	e.waitReady(tb, len(backends))
	return e
}

// waitReady polls until every backend is healthy and the catalog known.
func (e *fleetEnv) waitReady(tb testing.TB, n int) {
	tb.Helper()
	deadline := time.Now().Add(waitTimeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		healthy := 0
		for _, b := range e.fleet.Backends() {
			if b.State == fleet.StateHealthy && b.NodeCount > 0 {
				healthy++
			}
		}
		if healthy == n && e.fleet.Catalog() != nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%d of %d backends healthy after %s", healthy, n, waitTimeout)
		}
		<-tick.C
	}
}
