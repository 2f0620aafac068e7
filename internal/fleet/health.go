package fleet

import (
	"context"
	"time"

	"github.com/comfygate/comfygate/comfy"
)

// healthLoop is a backend's active health check (a /system_stats probe
// every ProbeInterval, or at once when a passive signal asks), its stall
// detector and its catalog refresher. fails is owned by this goroutine.
func (f *Fleet) healthLoop(ctx context.Context, b *Backend) {
	t := f.clock.NewTicker(f.cfg.ProbeInterval)
	defer t.Stop()
	fails := 0
	for {
		f.probe(ctx, b, &fails)
		f.checkSocketGrace(b)
		f.checkStalls(b)
		f.probeStalled(ctx, b)
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		case <-b.probeNow:
		}
	}
}

// probe runs one active check and moves the backend's state.
func (f *Fleet) probe(ctx context.Context, b *Backend, fails *int) {
	pctx, cancel := context.WithTimeout(ctx, f.cfg.ProbeTimeout)
	defer cancel()
	start := time.Now()
	st, err := b.client.SystemStats(pctx)
	if ctx.Err() != nil {
		return
	}
	f.m.observeRequest(b.ID(), "system_stats", time.Since(start), err)
	if err != nil {
		*fails++
		if *fails >= f.cfg.DownAfter {
			f.markDown(b, "probe failed", err)
		} else {
			f.markDegraded(b, "probe failed", err)
		}
		return
	}
	*fails = 0
	b.observeLatency(time.Since(start))
	b.system.Store(&st)
	if err := f.maybeLoadCatalog(ctx, b); err != nil {
		f.markDegraded(b, "catalog (GET /object_info) failed", err)
		return
	}
	// A backend another replica drives is healthy as far as probes tell:
	// its socket is that replica's business.
	if b.socketUp.Load() || !b.driven.Load() {
		f.markHealthy(ctx, b)
	}
}

// checkSocketGrace marks a backend down whose socket stayed down too long:
// it may answer HTTP, but we cannot follow runs on it live.
func (f *Fleet) checkSocketGrace(b *Backend) {
	since := b.socketDownAt.Load()
	if since == 0 || b.socketUp.Load() || !b.driven.Load() {
		return
	}
	if f.clock.Now().Sub(time.Unix(0, since)) > f.cfg.SocketGrace {
		f.markDown(b, "socket down for longer than "+f.cfg.SocketGrace.String(), nil)
	}
}

// maybeLoadCatalog loads /object_info when there is none, when the socket
// reconnected, or when CatalogInterval has passed.
func (f *Fleet) maybeLoadCatalog(ctx context.Context, b *Backend) error {
	due := time.Unix(0, b.catalogAt.Load()).Add(f.cfg.CatalogInterval)
	if b.caps.Load() != nil && !b.catalogStale.Load() && f.clock.Now().Before(due) {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, f.cfg.RequestTimeout)
	defer cancel()
	start := time.Now()
	info, err := b.client.ObjectInfo(cctx)
	f.m.observeRequest(b.ID(), "object_info", time.Since(start), err)
	if err != nil {
		return err
	}
	b.caps.Store(capabilitiesOf(info))
	f.memory.soon()
	b.catalogStale.Store(false)
	b.catalogAt.Store(f.clock.Now().UnixNano())
	f.catalog.invalidate()
	f.recheckCaps.Store(true) // queued jobs may have become unrunnable, or runnable
	f.wakeScheduler()         // jobs waiting for a capability may fit now
	return nil
}

func (f *Fleet) markHealthy(ctx context.Context, b *Backend) {
	old := b.health.Swap(healthHealthy)
	if old == healthHealthy {
		return
	}
	f.log.Info("fleet: backend healthy", "backend", b.ID())
	f.m.setBackendState(b)
	f.catalog.invalidate()
	f.cleanOrphans(ctx, b)
	f.wakeScheduler()
}

// markDegraded stops placing new jobs on b until the next good probe. what
// names the check that failed; err (nil for some) says how.
func (f *Fleet) markDegraded(b *Backend, what string, err error) {
	// The last failure shown is what put or keeps the backend degraded; a
	// down backend keeps the reason it went down.
	if b.health.Load() != healthDown {
		f.noteFailure(b, what, err)
	}
	if b.health.CompareAndSwap(healthHealthy, healthDegraded) || b.health.CompareAndSwap(healthUnknown, healthDegraded) {
		f.log.Warn("fleet: backend degraded", "backend", b.ID(), "reason", what, "err", err)
		f.m.setBackendState(b)
		f.catalog.invalidate()
	}
}

// markDown gives up on b for now: its runs reconcile, and those it cannot
// answer for are retried elsewhere. Its latency is forgotten: a number from
// before it went down would read as current.
func (f *Fleet) markDown(b *Backend, what string, err error) {
	if b.health.Load() == healthDown {
		return
	}
	// Decide whom the death is charged to before any run can see the
	// backend down and end (crash.go). Whether the failed probes or the
	// dropped socket is noticed first is a race; either way it is gone.
	b.chargeDeath()
	if b.health.Swap(healthDown) == healthDown {
		return
	}
	f.noteFailure(b, what, err)
	b.latencyBits.Store(0)
	f.log.Warn("fleet: backend down", "backend", b.ID(), "reason", what, "err", err)
	f.m.setBackendState(b)
	f.catalog.invalidate()
	b.forgetUploads()
	for _, r := range b.allRuns() {
		r.mbox.Push(msgBackendDown{}, false)
	}
}

// cleanOrphans removes from a backend that came back the prompts we gave up
// on while it was unreachable, so they do not run a second time next to
// their retry. A prompt already in its history ran anyway; that is logged.
func (f *Fleet) cleanOrphans(ctx context.Context, b *Backend) {
	orphans := b.takeOrphans()
	if len(orphans) == 0 {
		return
	}
	qctx, cancel := context.WithTimeout(ctx, f.cfg.RequestTimeout)
	defer cancel()
	q, err := b.client.Queue(qctx)
	if err != nil {
		for p, j := range orphans {
			b.addOrphan(p, j) // try again when it is healthy next time
		}
		return
	}
	for promptID, jobID := range orphans {
		f.cleanOrphan(qctx, b, q, promptID, jobID)
	}
}

func (f *Fleet) cleanOrphan(ctx context.Context, b *Backend, q comfy.QueueStatus, promptID, jobID string) {
	_, running, ok := q.Find(promptID)
	var err error
	switch {
	case ok && running:
		err = b.client.InterruptPrompt(ctx, promptID)
	case ok:
		err = b.client.DeleteQueued(ctx, promptID)
	default:
		return
	}
	f.log.Warn("fleet: removed an orphaned prompt from a returning backend", "backend", b.ID(), "job", jobID, "prompt", promptID, "running", running, "err", err)
}
