package fleet

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/comfygate/comfygate/internal/job"
)

// The registry (Config.Registry) is where the fleet's backends live, with
// the lease that gives each to exactly one replica: the replica that holds
// a backend's lease opens its one WebSocket, dispatches to it and follows
// its runs; the others only probe it (so every replica can validate graphs
// against its catalog and report its health). A fleet alone, without a
// shared registry, keeps one in memory and holds every lease: the same code
// runs, with a trivial lease.

// Signal is what one replica tells the others about the fleet, so they act
// at once rather than at their next look at the tables.
type Signal struct {
	Kind SignalKind
	ID   string // the job or backend it is about
}

// SignalKind says what a Signal reports.
type SignalKind byte

// Kinds of Signal.
const (
	// SignalQueued: job ID waits in the queue (submitted, or back for a
	// retry) and the replica it was queued at cannot start it at once: a
	// replica with a free slot may take it.
	SignalQueued SignalKind = 'q'
	// SignalBackends: the backends changed (added, removed, drained or
	// resumed): reload them.
	SignalBackends SignalKind = 'b'
	// SignalReleased: a replica handed leases back (it is stopping, or
	// shedding load): take them over if your share allows.
	SignalReleased SignalKind = 'r'
	// SignalCancel: a cancel was asked for job ID: the replica following it
	// stops its prompt.
	SignalCancel SignalKind = 'c'
)

// Peers carries the fleet's Signals to the other replicas sharing the
// registry; the server sends them over the database's bus and hands what
// arrives to Fleet.Signal. Send must not block.
type Peers interface {
	Send(s Signal)
}

type nopPeers struct{}

func (nopPeers) Send(Signal) {}

// memRegistry is the registry of a fleet that shares nothing: backends in
// memory, leases granted to whoever asks when nobody else holds them.
type memRegistry struct {
	mu       sync.Mutex // guards the fields below
	backends []*job.Backend
	replicas map[string]time.Time
}

var _ job.BackendStore = (*memRegistry)(nil)

func newMemRegistry() *memRegistry { return &memRegistry{replicas: map[string]time.Time{}} }

func (m *memRegistry) find(id string) int {
	return slices.IndexFunc(m.backends, func(b *job.Backend) bool { return b.ID == id })
}

func (m *memRegistry) PutBackend(_ context.Context, b *job.Backend) (*job.Backend, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if i := m.find(b.ID); i >= 0 {
		m.backends[i].URL, m.backends[i].MaxInflight = b.URL, b.MaxInflight
		c := *m.backends[i]
		return &c, nil
	}
	c := job.Backend{ID: b.ID, URL: b.URL, MaxInflight: b.MaxInflight}
	m.backends = append(m.backends, &c)
	out := c
	return &out, nil
}

func (m *memRegistry) AddBackend(ctx context.Context, b *job.Backend) (*job.Backend, error) {
	m.mu.Lock()
	exists := m.find(b.ID) >= 0
	m.mu.Unlock()
	if exists {
		return nil, job.ErrDuplicateID
	}
	return m.PutBackend(ctx, b)
}

func (m *memRegistry) ListBackends(context.Context) ([]*job.Backend, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*job.Backend, len(m.backends))
	for i, b := range m.backends {
		c := *b
		out[i] = &c
	}
	return out, nil
}

func (m *memRegistry) SetBackendDraining(_ context.Context, id string, draining bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := m.find(id)
	if i < 0 {
		return job.ErrNotFound
	}
	m.backends[i].Draining = draining
	return nil
}

func (m *memRegistry) DeleteBackend(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := m.find(id)
	if i < 0 {
		return job.ErrNotFound
	}
	m.backends = slices.Delete(m.backends, i, i+1)
	return nil
}

func (m *memRegistry) AcquireBackendLease(_ context.Context, id, owner string, now, until time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := m.find(id)
	if i < 0 {
		return false, nil
	}
	b := m.backends[i]
	if b.LeaseOwner != owner && b.Leased(now) {
		return false, nil
	}
	b.LeaseOwner, b.LeaseUntil = owner, until
	return true, nil
}

func (m *memRegistry) RenewBackendLeases(_ context.Context, owner string, _, until time.Time) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ids := []string{}
	for _, b := range m.backends {
		if b.LeaseOwner == owner {
			b.LeaseUntil = until
			ids = append(ids, b.ID)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

func (m *memRegistry) ReleaseBackendLeases(_ context.Context, owner string, ids ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, b := range m.backends {
		if b.LeaseOwner == owner && (len(ids) == 0 || slices.Contains(ids, b.ID)) {
			b.LeaseOwner, b.LeaseUntil = "", time.Time{}
		}
	}
	return nil
}

func (m *memRegistry) Heartbeat(_ context.Context, id string, now, until time.Time) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.replicas[id] = until
	var live []string
	for r, u := range m.replicas {
		if !u.After(now) {
			delete(m.replicas, r)
			continue
		}
		live = append(live, r)
	}
	slices.Sort(live)
	return live, nil
}

func (m *memRegistry) Leave(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.replicas, id)
	return nil
}
