package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/comfygate/comfygate/comfy/comfysim"
	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/internal/store/postgres"
)

// These tests run several fleets, as several replicas would, on one
// PostgreSQL database (the registry and the queue) in front of the same
// simulators; peerNet carries their Signals as the server's bus does.

// peersFunc is a hand-written Peers.
type peersFunc struct {
	SendFunc func(Signal)
}

func (p peersFunc) Send(s Signal) { p.SendFunc(s) }

// peerNet hands each replica's Signals to every other replica.
type peerNet struct {
	mu     sync.Mutex // guards fleets
	fleets map[string]*Fleet
}

func newPeerNet() *peerNet { return &peerNet{fleets: map[string]*Fleet{}} }

func (n *peerNet) peers(from string) Peers {
	return peersFunc{SendFunc: func(s Signal) {
		n.mu.Lock()
		var to []*Fleet
		for id, f := range n.fleets {
			if id != from {
				to = append(to, f)
			}
		}
		n.mu.Unlock()
		for _, f := range to {
			f.Signal(s)
		}
	}}
}

func (n *peerNet) join(id string, f *Fleet) {
	n.mu.Lock()
	n.fleets[id] = f
	n.mu.Unlock()
}

// replica is one fleet of a set, with its own connections to the database.
type replica struct {
	*env
	id    string
	store *postgres.Store
}

// startReplica starts a fleet named id over the database at dsn.
func startReplica(tb testing.TB, net *peerNet, dsn, id string, arts *memArtifacts, mod func(*Config), backends ...BackendConfig) *replica {
	tb.Helper()
	st, err := postgres.Open(context.Background(), postgres.Config{DSN: dsn, MaxConns: 4, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	cfg := testConfig(st, newRecHub(), arts, backends...)
	cfg.InstanceID, cfg.Registry, cfg.Peers = id, st, net.peers(id)
	// Several fleets and simulators share two cores: probes and rounds get
	// room, so that load does not read as a dead backend or a lost lease.
	cfg.BackendLeaseTTL, cfg.ProbeInterval, cfg.ProbeTimeout = 6*time.Second, 200*time.Millisecond, 2*time.Second
	if mod != nil {
		mod(&cfg)
	}
	f, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	net.join(id, f)
	return &replica{env: startFleetWith(tb, f, cfg), id: id, store: st}
}

// driven lists the backends r drives.
func (r *replica) driven() []string {
	var ids []string
	for _, b := range r.fleet.snapshot() {
		if b.driven.Load() {
			ids = append(ids, b.ID())
		}
	}
	return ids
}

// waitShares waits until every replica drives exactly want backends.
func waitShares(tb testing.TB, want int, rs ...*replica) {
	tb.Helper()
	waitUntil(tb, fmt.Sprintf("each replica driving %d backends", want), func() bool {
		for _, r := range rs {
			if len(r.driven()) != want {
				return false
			}
		}
		return true
	})
}

// dispatchedBackends lists the backends named by the dispatched events a
// replica published.
func dispatchedBackends(r *replica) map[string]bool {
	r.hub.mu.Lock()
	defer r.hub.mu.Unlock()
	out := map[string]bool{}
	for _, e := range r.hub.events {
		var d job.DispatchedData
		if e.Type == job.EventDispatched && json.Unmarshal(e.Data, &d) == nil {
			out[d.Backend] = true
		}
	}
	return out
}

// TestReplicasShareTheFleet: three replicas in front of three backends
// each drive one; jobs submitted to any replica run exactly once, and
// every replica dispatches (a backend may change hands on a loaded
// machine, where a slow renewal fences a lease, so who dispatched where is
// not pinned).
func TestReplicasShareTheFleet(t *testing.T) {
	dsn := pg.NewDSN(t, pgErr)
	var sims []*sim
	var backends []BackendConfig
	for i := range 3 {
		s := startSim(t, comfysim.Options{StepDelay: 2 * time.Millisecond})
		sims = append(sims, s)
		backends = append(backends, backendOf(fmt.Sprintf("gpu-%d", i+1), s, 2))
	}
	net, arts := newPeerNet(), newMemArtifacts()
	var rs []*replica
	for i := range 3 {
		rs = append(rs, startReplica(t, net, dsn, fmt.Sprintf("r%d", i+1), arts, nil, backends...))
	}
	waitShares(t, 1, rs...)
	var ids []string
	for i := range 30 {
		ids = append(ids, rs[i%3].submit(t, imageGraph(simCheckpoint, i, 3)))
	}
	for _, id := range ids {
		j := waitStoreTerminal(t, rs[0].store, id)
		if j.State != job.StateSucceeded || len(j.Outputs) != 1 {
			t.Errorf("job %s: %s, error %v", id, j.State, j.Error)
		}
		if n := executions(j, sims...); n != 1 {
			t.Errorf("job %s executed %d times", id, n)
		}
	}
	for _, r := range rs {
		if len(dispatchedBackends(r)) == 0 {
			t.Errorf("replica %s dispatched nothing", r.id)
		}
		if st := r.fleet.Backends(); len(st) != 3 {
			t.Errorf("replica %s knows %d backends, want 3", r.id, len(st))
		}
	}
	for _, b := range rs[0].fleet.Backends() {
		if b.Replica == "" || b.State != StateHealthy {
			t.Errorf("backend %s as seen by r1: replica %q, state %s", b.ID, b.Replica, b.State)
		}
	}
}

// TestDeadReplicasBackendsMove: a replica that dies (its database
// connections gone, nothing released) leaves its backends, and the jobs
// running on them, to the others once its leases lapse; every job ends
// succeeded, executed once.
func TestDeadReplicasBackendsMove(t *testing.T) {
	dsn := pg.NewDSN(t, pgErr)
	s1 := startSim(t, comfysim.Options{StepDelay: 10 * time.Millisecond})
	s2 := startSim(t, comfysim.Options{StepDelay: 10 * time.Millisecond})
	backends := []BackendConfig{backendOf("gpu-1", s1, 2), backendOf("gpu-2", s2, 2)}
	net, arts := newPeerNet(), newMemArtifacts()
	a := startReplica(t, net, dsn, "a", arts, nil, backends...)
	b := startReplica(t, net, dsn, "b", arts, nil, backends...)
	waitShares(t, 1, a, b)
	var ids []string
	for i := range 12 {
		ids = append(ids, b.submit(t, imageGraph(simCheckpoint, i, 20)))
	}
	a.hub.waitFor(t, "a job running on a's backend", func(evs []events.Event) bool {
		return slices.ContainsFunc(evs, func(e events.Event) bool { return e.Type == job.EventStarted })
	})
	a.store.Close() // a dies: what it would still write goes nowhere
	a.kill(t)
	waitShares(t, 2, b)
	for _, id := range ids {
		j := waitStoreTerminal(t, b.store, id)
		if j.State != job.StateSucceeded || executions(j, s1, s2) != 1 {
			t.Errorf("job %s: %s, %d executions, attempts %+v, error %v", id, j.State, executions(j, s1, s2), j.AttemptLog, j.Error)
		}
	}
}

// TestGracefulStopHandsBackendsOver: a replica that stops hands its
// leases back at once: with leases that would last an hour, the other
// replica still takes its backend over and finishes its jobs.
func TestGracefulStopHandsBackendsOver(t *testing.T) {
	dsn := pg.NewDSN(t, pgErr)
	s1 := startSim(t, comfysim.Options{StepDelay: 10 * time.Millisecond})
	s2 := startSim(t, comfysim.Options{StepDelay: 10 * time.Millisecond})
	backends := []BackendConfig{backendOf("gpu-1", s1, 2), backendOf("gpu-2", s2, 2)}
	net, arts := newPeerNet(), newMemArtifacts()
	hour := func(c *Config) { c.BackendLeaseTTL, c.LeaseTTL = time.Hour, time.Hour }
	a := startReplica(t, net, dsn, "a", arts, hour, backends...)
	b := startReplica(t, net, dsn, "b", arts, hour, backends...)
	// b joined after a took both: a hands one over when it sees b.
	a.fleet.wakeShare()
	waitShares(t, 1, a, b)
	var ids []string
	for i := range 8 {
		ids = append(ids, a.submit(t, imageGraph(simCheckpoint, i, 15)))
	}
	a.hub.waitFor(t, "a job running on a's backend", func(evs []events.Event) bool {
		return slices.ContainsFunc(evs, func(e events.Event) bool { return e.Type == job.EventStarted })
	})
	a.stop(t)
	waitShares(t, 2, b)
	for _, id := range ids {
		j := waitStoreTerminal(t, b.store, id)
		if j.State != job.StateSucceeded || executions(j, s1, s2) != 1 {
			t.Errorf("job %s: %s, %d executions, error %v", id, j.State, executions(j, s1, s2), j.Error)
		}
	}
}

// TestRunTimeBackendsReachEveryReplica: a backend added through one
// replica is known to the others at once and to a replica started later;
// a drain through one holds on all; a removal through a replica that does
// not drive it removes it everywhere.
func TestRunTimeBackendsReachEveryReplica(t *testing.T) {
	dsn := pg.NewDSN(t, pgErr)
	s1, s2 := startSim(t, comfysim.Options{}), startSim(t, comfysim.Options{})
	net, arts := newPeerNet(), newMemArtifacts()
	a := startReplica(t, net, dsn, "a", arts, nil, backendOf("gpu-1", s1, 2))
	b := startReplica(t, net, dsn, "b", arts, nil)
	if err := b.fleet.AddBackend(backendOf("gpu-2", s2, 3)); err != nil {
		t.Fatal(err)
	}
	if err := a.fleet.AddBackend(backendOf("gpu-2", s2, 3)); err == nil {
		t.Error("a second add of one id succeeded")
	}
	known := func(r *replica, id string) func() bool {
		return func() bool {
			return slices.ContainsFunc(r.fleet.Backends(), func(s BackendStatus) bool { return s.ID == id })
		}
	}
	waitUntil(t, "a knows the backend b added", known(a, "gpu-2"))
	c := startReplica(t, net, dsn, "c", arts, nil)
	if !known(c, "gpu-2")() || !known(c, "gpu-1")() {
		t.Fatalf("a replica started later knows %+v", c.fleet.Backends())
	}
	if err := c.fleet.Drain("gpu-1"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "a sees the drain", func() bool { return a.fleet.backend("gpu-1").draining.Load() })
	holder := a.fleet.backend("gpu-1").replica()
	var via *replica
	for _, r := range []*replica{a, b, c} {
		if r.id != holder {
			via = r
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := via.fleet.RemoveBackend(ctx, "gpu-1"); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*replica{a, b, c} {
		waitUntil(t, "gpu-1 gone from "+r.id, func() bool { return !known(r, "gpu-1")() })
	}
	list, err := a.store.ListBackends(ctx)
	if err != nil || len(list) != 1 || list[0].ID != "gpu-2" || list[0].MaxInflight != 3 {
		t.Errorf("stored backends: %+v, %v", list, err)
	}
}

// TestCancelReachesTheDrivingReplica: a cancel asked of a replica that
// does not follow the job reaches the one that does at once, not at its
// next lease renewal.
func TestCancelReachesTheDrivingReplica(t *testing.T) {
	dsn := pg.NewDSN(t, pgErr)
	s := startSim(t, comfysim.Options{StepDelay: 50 * time.Millisecond})
	net, arts := newPeerNet(), newMemArtifacts()
	hour := func(c *Config) { c.LeaseTTL = time.Hour }
	a := startReplica(t, net, dsn, "a", arts, hour, backendOf("gpu", s, 2))
	b := startReplica(t, net, dsn, "b", arts, hour, backendOf("gpu", s, 2))
	waitUntil(t, "one replica driving the backend", func() bool { return len(a.driven())+len(b.driven()) == 1 })
	driver, other := a, b
	if len(b.driven()) == 1 {
		driver, other = b, a
	}
	id := other.submit(t, imageGraph(simCheckpoint, 1, 1000))
	driver.hub.waitFor(t, "the job running", started(id))
	if _, err := other.fleet.Cancel(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	j := waitStoreTerminal(t, other.store, id)
	if j.State != job.StateCancelled {
		t.Errorf("state %s, want cancelled", j.State)
	}
}
