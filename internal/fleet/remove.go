package fleet

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/comfygate/comfygate/internal/job"
)

// msgEvict tells a run its backend is being removed: the prompt is taken
// off the backend and the job runs elsewhere.
type msgEvict struct{}

// removePoll is how often RemoveBackend looks whether the backend emptied.
const removePoll = 20 * time.Millisecond

// RemoveBackend takes a backend out of the fleet, on every replica. It
// drains it first and waits, up to ctx's deadline, for its jobs to finish
// (wherever it is driven); jobs still on it then are deleted or interrupted
// there and retried elsewhere. It returns once the backend's goroutines
// here are gone.
func (f *Fleet) RemoveBackend(ctx context.Context, id string) error {
	b := f.backend(id)
	if b == nil {
		return fmt.Errorf("remove backend %s: %w", id, ErrUnknownBackend)
	}
	reg := f.cfg.Registry
	if err := reg.SetBackendDraining(ctx, id, true); err != nil && !errors.Is(err, job.ErrNotFound) {
		return fmt.Errorf("remove backend %s: %w", id, err)
	}
	b.draining.Store(true)
	f.cfg.Peers.Send(Signal{Kind: SignalBackends, ID: id})
	if b.driven.Load() {
		waitRuns(ctx, b)
	} else {
		f.waitStored(ctx, id)
	}
	if err := reg.DeleteBackend(ctx, id); err != nil && !errors.Is(err, job.ErrNotFound) {
		return fmt.Errorf("remove backend %s: %w", id, err)
	}
	f.cfg.Peers.Send(Signal{Kind: SignalBackends, ID: id})
	f.shareMu.Lock()
	defer f.shareMu.Unlock()
	f.dropBackend(ctx, b)
	return nil
}

// evictAll takes the runs still on b off it; their jobs run elsewhere.
func (f *Fleet) evictAll(ctx context.Context, b *Backend) {
	b.removed.Store(true)
	for _, r := range b.allRuns() {
		r.mbox.Push(msgEvict{}, false)
	}
	// The evicted runs need the backend a little longer to take their
	// prompts off it; give them a bounded grace whatever ctx says.
	grace, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.cfg.RequestTimeout)
	waitRuns(grace, b)
	cancel()
}

// stopBackend takes b out of this replica and waits for its goroutines.
func (f *Fleet) stopBackend(b *Backend) {
	f.backendsMu.Lock()
	f.removeBackendLocked(b)
	stop := b.cancel
	f.backendsMu.Unlock()
	if stop != nil {
		stop()
	}
	b.wg.Wait()
	f.m.forget(b)
	f.catalog.invalidate()
}

// waitStored waits, up to ctx's end, until no job in the store is bound to
// backend id: it is driven by another replica, whose runs this one cannot
// see.
func (f *Fleet) waitStored(ctx context.Context, id string) {
	t := time.NewTicker(10 * removePoll)
	defer t.Stop()
	for {
		jobs, err := f.store.ActiveJobs(ctx)
		if err == nil && !slices.ContainsFunc(jobs, func(j *job.Job) bool { return j.Backend == id }) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// waitRuns waits until b has no runs or ctx ends.
func waitRuns(ctx context.Context, b *Backend) {
	t := time.NewTicker(removePoll)
	defer t.Stop()
	for len(b.allRuns()) > 0 {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// onEvict takes the run's prompt off its backend (best effort) and retries
// the job elsewhere; a run that already finished is collected instead.
func (r *run) onEvict(ctx context.Context) verdict {
	cctx, cancel := context.WithTimeout(ctx, r.f.cfg.RequestTimeout)
	defer cancel()
	if _, err := r.b.client.PromptHistory(cctx, r.promptID); err == nil {
		return vFinished // it already ended there: collect it
	}
	_ = r.b.client.DeleteQueued(cctx, r.promptID)
	_ = r.b.client.InterruptPrompt(cctx, r.promptID)
	r.retry(ctx, "backend_removed", "the backend was removed from the fleet")
	return vEnded
}
