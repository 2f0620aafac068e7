package fleet

import (
	"context"
	"slices"
	"time"

	"github.com/comfygate/comfygate/internal/job"
)

// shareLoop keeps this replica's share of the backends: every third of
// BackendLeaseTTL, or at once when woken (a signal from another replica, an
// admin change), it runs a share round.
func (f *Fleet) shareLoop(ctx context.Context) {
	t := f.clock.NewTicker(f.renewEvery())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		case <-f.shareWake:
		}
		if f.stopping.Load() {
			continue
		}
		f.shareRound(ctx)
		f.recoverDue(ctx)
	}
}

func (f *Fleet) renewEvery() time.Duration { return max(f.cfg.BackendLeaseTTL/3, time.Millisecond) }

// wakeShare asks for a share round soon, without blocking.
func (f *Fleet) wakeShare() {
	select {
	case f.shareWake <- struct{}{}:
	default:
	}
}

// shareRound renews this replica's heartbeat and leases, follows the
// registry's list of backends, and takes or hands back leases so that
// each live replica drives its fair share: ceil(backends / replicas). A
// round that cannot reach the registry changes nothing, except that
// backends whose lease this replica could not renew in time stop being
// driven (fence).
func (f *Fleet) shareRound(ctx context.Context) {
	f.shareMu.Lock()
	defer f.shareMu.Unlock()
	now := f.clock.Now()
	// A round may take up to half a lease; one that fails stops driving
	// what it could not renew in time (fence). Rounds start every third
	// of a lease, so a failing one notices a sixth of a lease before the
	// last renewal lapses.
	ctx, cancel := context.WithTimeout(ctx, f.cfg.BackendLeaseTTL/2)
	defer cancel()
	until := now.Add(f.cfg.BackendLeaseTTL)
	reg, me := f.cfg.Registry, f.cfg.InstanceID
	live, err := reg.Heartbeat(ctx, me, now, until)
	if err != nil {
		f.shareFailed(ctx, "heartbeat", err)
		f.fence(f.clock.Now())
		return
	}
	held, err := reg.RenewBackendLeases(ctx, me, now, until)
	if err != nil {
		f.shareFailed(ctx, "renew backend leases", err)
		f.fence(f.clock.Now())
		return
	}
	list, err := reg.ListBackends(ctx)
	if err != nil {
		f.shareFailed(ctx, "list backends", err)
		return
	}
	f.syncBackends(ctx, list)
	defer f.noteHolders()
	f.keepDriving(ctx, held, now)
	f.balance(ctx, list, len(live), slices.Index(live, me), now, until)
}

func (f *Fleet) shareFailed(ctx context.Context, what string, err error) {
	if ctx.Err() == nil || f.lifetime().Err() == nil {
		f.log.Warn("fleet: sharing the backends failed; trying again", "step", what, "err", err)
	}
}

// fence stops driving the backends whose lease was not renewed in time:
// another replica may take them over from their lease's end.
func (f *Fleet) fence(now time.Time) {
	for _, b := range f.snapshot() {
		if b.driven.Load() && now.UnixNano() >= b.leaseDeadline.Load() {
			f.lose(b, "its lease could not be renewed in time")
		}
	}
}

// fenceAt is when a lease renewed at now stops being relied on: a fifth of
// its length before it lapses, so that clocks a little apart, or a renewal
// that is slow to return, never let two replicas drive one backend.
func (f *Fleet) fenceAt(now time.Time) int64 {
	return now.Add(f.cfg.BackendLeaseTTL * 4 / 5).UnixNano()
}

// keepDriving drives the backends whose lease this replica holds (after a
// restart with the same instance id, it still holds its old ones) and
// stops driving the others.
func (f *Fleet) keepDriving(ctx context.Context, held []string, now time.Time) {
	for _, b := range f.snapshot() {
		mine := slices.Contains(held, b.ID())
		switch {
		case mine && b.driven.Load():
			b.leaseDeadline.Store(f.fenceAt(now))
		case mine:
			f.drive(b, now)
		case b.driven.Load():
			f.lose(b, "another replica holds its lease")
		}
	}
}

// balance takes free leases while this replica drives fewer backends than
// its share, and hands back the extra ones when it drives more (a replica
// joined). idx is this replica's place among the live ones: replicas start
// looking for free backends at different places, so that they seldom race
// for the same one.
func (f *Fleet) balance(ctx context.Context, list []*job.Backend, replicas, idx int, now, until time.Time) {
	if len(list) == 0 {
		return
	}
	share := (len(list) + max(replicas, 1) - 1) / max(replicas, 1)
	mine := 0
	for _, b := range f.snapshot() {
		if b.driven.Load() {
			mine++
		}
	}
	switch {
	case mine < share:
		start := max(idx, 0) * len(list) / max(replicas, 1)
		for i := range list {
			if mine >= share {
				return
			}
			rec := list[(start+i)%len(list)]
			if rec.Leased(now) {
				continue
			}
			if f.acquire(ctx, rec.ID, now, until) {
				mine++
			}
		}
	case mine > share:
		f.shed(ctx, mine-share)
	}
}

// acquire takes a free backend's lease and drives it.
func (f *Fleet) acquire(ctx context.Context, id string, now, until time.Time) bool {
	b := f.backend(id)
	if b == nil || b.driven.Load() {
		return false
	}
	ok, err := f.cfg.Registry.AcquireBackendLease(ctx, id, f.cfg.InstanceID, now, until)
	if err != nil {
		f.shareFailed(ctx, "acquire backend lease", err)
		return false
	}
	if ok {
		f.drive(b, now)
	}
	return ok
}

// shed hands n backends back, the least busy first: their runs are left to
// the replica that takes them over, which re-attaches them.
func (f *Fleet) shed(ctx context.Context, n int) {
	var driven []*Backend
	for _, b := range f.snapshot() {
		if b.driven.Load() {
			driven = append(driven, b)
		}
	}
	slices.SortStableFunc(driven, func(a, b *Backend) int { return int(a.inflight.Load() - b.inflight.Load()) })
	var ids []string
	for _, b := range driven[:min(n, len(driven))] {
		f.lose(b, "handing it to a replica that drives fewer")
		waitRuns(ctx, b) // no prompt of ours is in flight when another replica takes over
		ids = append(ids, b.ID())
	}
	if len(ids) == 0 {
		return
	}
	if err := f.cfg.Registry.ReleaseBackendLeases(ctx, f.cfg.InstanceID, ids...); err != nil {
		f.shareFailed(ctx, "release backend leases", err)
		return
	}
	f.log.Info("fleet: handed backends over", "backends", ids)
	f.cfg.Peers.Send(Signal{Kind: SignalReleased})
}

// releaseBackends hands every lease back at a graceful stop, once no run is
// left, and says so, so that the other replicas take the backends over at
// once instead of when the leases lapse.
func (f *Fleet) releaseBackends(ctx context.Context) {
	reg, me := f.cfg.Registry, f.cfg.InstanceID
	if err := reg.ReleaseBackendLeases(ctx, me); err != nil {
		f.log.Warn("fleet: handing the backends back failed; they pass on when the leases lapse", "err", err)
		return
	}
	if err := reg.Leave(ctx, me); err != nil {
		f.log.Warn("fleet: leaving the replicas failed", "err", err)
	}
	f.cfg.Peers.Send(Signal{Kind: SignalReleased})
}
