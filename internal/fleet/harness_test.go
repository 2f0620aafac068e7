package fleet

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/internal/store/postgres/pgtest"
	"github.com/comfygate/comfygate/internal/store/sqlite"
	"go.uber.org/goleak"
)

// pg is the PostgreSQL server of the tests of several replicas
// (replicas_test.go); pgErr says why there is none.
var (
	pg    *pgtest.Server
	pgErr error
)

func TestMain(m *testing.M) {
	if n := os.Getenv(simChildEnv); n != "" {
		os.Exit(runSimChild(n))
	}
	pg, pgErr = pgtest.Start(context.Background())
	// The server's own goroutines live until Cleanup stops it.
	goleak.VerifyTestMain(m, goleak.IgnoreCurrent(), goleak.Cleanup(func(code int) {
		if err := pg.Close(); err != nil && code == 0 {
			code = 1
		}
		os.Exit(code)
	}))
}

// waitTimeout bounds every wait in these tests; it is a deadline for a
// failure, never a measure of speed.
const waitTimeout = 30 * time.Second

// memArtifacts is an in-memory ArtifactStore.
type memArtifacts struct {
	mu    sync.Mutex // guards blobs
	blobs map[string][]byte
}

func newMemArtifacts() *memArtifacts { return &memArtifacts{blobs: map[string][]byte{}} }

func (m *memArtifacts) PutBlob(_ context.Context, r io.Reader, _ string) (string, int64, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return "", 0, err
	}
	sum := sha256.Sum256(data)
	id := hex.EncodeToString(sum[:])
	m.mu.Lock()
	m.blobs[id] = data
	m.mu.Unlock()
	return id, int64(len(data)), nil
}

func (m *memArtifacts) OpenBlob(_ context.Context, id string) (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	data, ok := m.blobs[id]
	if !ok {
		return nil, fmt.Errorf("blob %s: %w", id, ErrBlobNotFound)
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

// remove deletes a blob, as deleting the jobs that made it does.
func (m *memArtifacts) remove(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.blobs, id)
}

func (m *memArtifacts) get(id string) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.blobs[id]
	return b, ok
}

// recHub records published events and lets tests wait for them.
type recHub struct {
	mu      sync.Mutex // guards the fields below
	events  []events.Event
	changed chan struct{} // closed and replaced on every publish
}

func newRecHub() *recHub { return &recHub{changed: make(chan struct{})} }

func (h *recHub) Publish(e events.Event) {
	h.mu.Lock()
	h.events = append(h.events, e)
	close(h.changed)
	h.changed = make(chan struct{})
	h.mu.Unlock()
}

// waitFor blocks until pred holds for the recorded events.
func (h *recHub) waitFor(tb testing.TB, what string, pred func([]events.Event) bool) {
	tb.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		h.mu.Lock()
		ok, ch := pred(h.events), h.changed
		h.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			tb.Fatalf("timed out waiting for %s", what)
		}
	}
}

func (h *recHub) ofJob(id string) []events.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []events.Event
	for _, e := range h.events {
		if e.JobID == id {
			out = append(out, e)
		}
	}
	return out
}

func hasEvent(evs []events.Event, id, typ string) bool {
	for _, e := range evs {
		if e.JobID == id && e.Type == typ {
			return true
		}
	}
	return false
}

// waitTerminal waits for the job's terminal event and returns the job.
func (h *recHub) waitTerminal(tb testing.TB, st job.Store, id string) *job.Job {
	tb.Helper()
	h.waitFor(tb, "job "+id+" to end", func(evs []events.Event) bool {
		for _, e := range evs {
			if e.JobID == id && job.TerminalEvent(e.Type) {
				return true
			}
		}
		return false
	})
	j, err := st.GetJob(context.Background(), id)
	if err != nil {
		tb.Fatal(err)
	}
	return j
}

// openStore opens a SQLite store in dir (a file that outlives a fleet).
func openStore(tb testing.TB, dir string) *sqlite.Store {
	tb.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(dir, "jobs.db"), Synchronous: "NORMAL"})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// env is one fleet under test with its store, hub and artifacts.
type env struct {
	fleet  *Fleet
	store  job.Store
	hub    *recHub
	arts   *memArtifacts
	cancel context.CancelFunc
}

// testConfig returns a config with intervals short enough for tests. The
// probe timeout stays long: on a loaded machine a 50ms probe of a healthy
// simulator times out, and a dead one refuses at once anyway.
func testConfig(st job.Store, hub *recHub, arts *memArtifacts, backends ...BackendConfig) Config {
	return Config{
		Backends: backends, Store: st, Artifacts: arts, Hub: hub,
		ProbeInterval: 50 * time.Millisecond, ProbeTimeout: 2 * time.Second, DownAfter: 2, SocketGrace: 500 * time.Millisecond,
		ReconnectBackoff: 20 * time.Millisecond, StallTimeout: 5 * time.Second,
		PollInterval: 50 * time.Millisecond, RefreshInterval: 200 * time.Millisecond,
		LeaseTTL: 3 * time.Second, RequestTimeout: 5 * time.Second, InstanceID: "test",
		Logger: testLogger(),
	}
}

// testLogger logs to stderr when FLEET_DEBUG is set, else nowhere.
func testLogger() *slog.Logger {
	if os.Getenv("FLEET_DEBUG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// startFleet starts a fleet and stops it at cleanup.
func startFleet(tb testing.TB, cfg Config) *env {
	tb.Helper()
	f, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return startFleetWith(tb, f, cfg)
}

// startFleetWith starts f, built from cfg, and stops it at cleanup.
func startFleetWith(tb testing.TB, f *Fleet, cfg Config) *env {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if err := f.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	e := &env{fleet: f, store: cfg.Store, hub: cfg.Hub.(*recHub), arts: cfg.Artifacts.(*memArtifacts), cancel: cancel}
	tb.Cleanup(func() { e.stop(tb) })
	return e
}

// stop shuts the fleet down gracefully (idempotent).
func (e *env) stop(tb testing.TB) {
	tb.Helper()
	if e.fleet == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.fleet.Stop(ctx); err != nil {
		tb.Errorf("stop: %v", err)
	}
	e.cancel()
	e.fleet = nil
}

// kill stops the fleet abruptly: its context is cancelled with no drain.
func (e *env) kill(tb testing.TB) {
	tb.Helper()
	e.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = e.fleet.Stop(ctx)
	e.fleet = nil
}

// submit stores a job for graph and tells the fleet.
func (e *env) submit(tb testing.TB, graph json.RawMessage, mod ...func(*job.Job)) string {
	tb.Helper()
	j := &job.Job{Graph: graph, Source: job.SourceREST}
	for _, m := range mod {
		m(j)
	}
	stored, _, err := e.store.CreateJob(context.Background(), j)
	if err != nil {
		tb.Fatal(err)
	}
	if e.fleet != nil {
		e.fleet.Enqueue(stored.ID)
	}
	return stored.ID
}
