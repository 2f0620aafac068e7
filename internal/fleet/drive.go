package fleet

import (
	"context"
	"time"

	"github.com/comfygate/comfygate/internal/job"
)

// drive makes this replica the one that drives b (it holds the lease): it
// opens b's socket, re-attaches the jobs bound to b, and lets the
// scheduler place jobs on it. The re-attached runs live as long as the
// fleet, not as long as the share round that took the lease.
func (f *Fleet) drive(b *Backend, now time.Time) {
	life := f.lifetime()
	if life == nil || life.Err() != nil {
		return
	}
	b.leaseDeadline.Store(f.fenceAt(now))
	sctx, cancel := context.WithCancel(life)
	h := &socketHandle{cancel: cancel, done: make(chan struct{})}
	b.mu.Lock()
	b.socket = h
	b.mu.Unlock()
	b.driven.Store(true)
	b.wg.Go(func() {
		defer close(h.done)
		f.socketLoop(sctx, b)
	})
	f.m.setDriven(b)
	f.log.Info("fleet: driving backend", "backend", b.ID(), "replica", f.cfg.InstanceID)
	f.adoptOn(life, b)
	f.wakeScheduler()
}

// lose stops driving b: its socket closes and its runs stop following
// their jobs, leaving them bound to b in the store for whoever drives it
// next, who re-attaches them.
func (f *Fleet) lose(b *Backend, why string) {
	if !b.driven.Swap(false) {
		return
	}
	b.mu.Lock()
	h := b.socket
	b.socket = nil
	b.mu.Unlock()
	if h != nil {
		h.cancel()
		<-h.done
	}
	b.socketUp.Store(false)
	b.socketDownAt.Store(0)
	for _, r := range b.allRuns() {
		r.mbox.Push(msgLeaseLost{}, false)
	}
	f.m.setDriven(b)
	f.log.Info("fleet: no longer driving backend", "backend", b.ID(), "reason", why)
}

// adoptOn re-attaches the jobs bound to b that nobody here follows: those
// a previous driver left (it died, stopped, or handed b over).
func (f *Fleet) adoptOn(ctx context.Context, b *Backend) {
	jobs, err := f.store.ActiveJobs(ctx)
	if err != nil {
		if ctx.Err() == nil {
			f.log.Warn("fleet: cannot list the jobs of a backend taken over; retrying later", "backend", b.ID(), "err", err)
		}
		f.recoverSoon.Store(true)
		return
	}
	for _, j := range jobs {
		if j.Backend != b.ID() || f.localRun(j.ID) != nil {
			continue
		}
		if err := f.adopt(ctx, j.ID); err != nil && ctx.Err() == nil {
			f.log.Warn("fleet: re-attaching a job failed", "job", j.ID, "err", err)
			f.recoverSoon.Store(true)
		}
	}
}

// recoverDue runs crash recovery over every active job now and then (every
// LeaseTTL), or at once after a failed adoption: it catches jobs bound to
// backends no longer in the fleet.
func (f *Fleet) recoverDue(ctx context.Context) {
	now := f.clock.Now()
	if !f.recoverSoon.Swap(false) && now.Sub(f.lastRecover) < f.cfg.LeaseTTL {
		return
	}
	f.lastRecover = now
	if err := f.recoverActive(ctx); err != nil && ctx.Err() == nil {
		f.log.Warn("fleet: re-attaching jobs failed", "err", err)
		f.recoverSoon.Store(true)
	}
}

// syncBackends makes the local backends those of the registry: new ones
// are added (probed, not driven until a lease says so), removed ones are
// stopped, and the draining flag and address follow the registry.
func (f *Fleet) syncBackends(ctx context.Context, list []*job.Backend) {
	want := make(map[string]*job.Backend, len(list))
	for _, rec := range list {
		want[rec.ID] = rec
	}
	now := f.clock.Now()
	for _, b := range f.snapshot() {
		rec, ok := want[b.ID()]
		if ok {
			holder := ""
			if rec.Leased(now) {
				holder = rec.LeaseOwner
			}
			b.holder.Store(&holder)
		}
		switch {
		case !ok:
			f.dropBackend(ctx, b)
		case rec.URL != b.cfg.URL || rec.MaxInflight != b.cfg.MaxInflight && rec.MaxInflight != 0:
			f.dropBackend(ctx, b) // re-added below with its new address or slots
		default:
			if b.draining.Swap(rec.Draining) != rec.Draining {
				f.m.setBackendState(b)
				f.wakeScheduler()
			}
		}
	}
	for _, rec := range list {
		if f.backend(rec.ID) == nil {
			f.addFromRegistry(rec)
		}
	}
}

// addFromRegistry adds a backend another replica (or an earlier life)
// stored.
func (f *Fleet) addFromRegistry(rec *job.Backend) {
	bc := BackendConfig{ID: rec.ID, URL: rec.URL, MaxInflight: rec.MaxInflight}
	if i := f.configured(rec.ID); i >= 0 && f.cfg.Backends[i].URL == rec.URL {
		bc = f.cfg.Backends[i] // keeps what the registry does not store (headers)
	}
	b, err := f.newBackend(bc)
	if err != nil {
		f.log.Warn("fleet: a stored backend is unusable", "backend", rec.ID, "err", err)
		return
	}
	b.draining.Store(rec.Draining)
	if rec.Leased(f.clock.Now()) {
		holder := rec.LeaseOwner
		b.holder.Store(&holder)
	}
	f.backendsMu.Lock()
	defer f.backendsMu.Unlock()
	if f.backend(rec.ID) != nil {
		return
	}
	f.addBackendLocked(b)
	if ctx := f.lifetime(); ctx != nil && ctx.Err() == nil {
		f.startBackend(ctx, b)
	}
	f.catalog.invalidate()
}

// configured returns the index of id in Config.Backends, or -1.
func (f *Fleet) configured(id string) int {
	for i, bc := range f.cfg.Backends {
		if bc.ID == id {
			return i
		}
	}
	return -1
}

// dropBackend takes a backend the registry no longer has out of this
// replica: driven, its runs are evicted (their jobs run elsewhere), as
// RemoveBackend does on the replica that was asked.
func (f *Fleet) dropBackend(ctx context.Context, b *Backend) {
	if b.driven.Load() {
		f.evictAll(ctx, b)
		f.lose(b, "removed from the fleet")
	}
	f.stopBackend(b)
}

// replica is who drives b, as last seen.
func (b *Backend) replica() string {
	if h := b.holder.Load(); h != nil {
		return *h
	}
	return ""
}

// Signal acts on what another replica said (see Peers).
func (f *Fleet) Signal(s Signal) {
	switch s.Kind {
	case SignalQueued:
		if f.freeDrivenSlot() {
			f.enqueue(incoming{id: s.ID})
		}
	case SignalBackends, SignalReleased:
		f.wakeShare()
	case SignalCancel:
		if r := f.localRun(s.ID); r != nil {
			r.mbox.Push(msgCancel{}, false)
		}
	}
}

// freeDrivenSlot reports whether a backend this replica drives could take a
// job now: only then is a job queued elsewhere worth loading at once (the
// queue refresh brings it otherwise).
func (f *Fleet) freeDrivenSlot() bool {
	for _, b := range f.snapshot() {
		if b.accepting() && b.hasFreeSlot() {
			return true
		}
	}
	return false
}

// noteHolders records this replica as the holder of the backends it drives
// now (the registry's list was read before it took them).
func (f *Fleet) noteHolders() {
	me := f.cfg.InstanceID
	for _, b := range f.snapshot() {
		if b.driven.Load() {
			b.holder.Store(&me)
		} else if b.replica() == me {
			none := ""
			b.holder.Store(&none)
		}
	}
}
