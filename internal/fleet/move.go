package fleet

import (
	"cmp"
	"context"
	"slices"

	"github.com/comfygate/comfygate/internal/job"
)

// Moving prefetched jobs. A job in a backend's prefetch slot waits in
// ComfyUI's queue behind the prompt running there. When that backend
// stalls, or another backend sits idle while the job waits, the job is
// taken back into comfygate's queue so that it starts now somewhere else.
//
// Nothing may run twice, so a job leaves a backend only once the backend
// provably will not run it: the run asks ComfyUI to delete the prompt from
// its queue (POST /queue {"delete": [id]}, which touches pending prompts
// only), then locates it. The prompt may start at any moment before the
// delete lands; /queue and /history are the truth:
//   - still listed, running: it started first; the run follows it there;
//   - still listed, pending: the delete did not take; it stays;
//   - in the history: it started and already ended; it is collected;
//   - in neither: deleted before it started, and nothing can start it any
//     more; only now is the job taken back (dispatched → queued, the
//     attempt withdrawn: it never ran).
//
// Any error on the way (the backend does not answer) leaves the job where
// it is: if removal cannot be confirmed, the job is not moved.

// msgMove asks a run to take its waiting prompt off its backend.
type msgMove struct{ reason string }

// askMove sends r a msgMove unless one is in flight or r is not simply
// waiting in ComfyUI's queue.
func (f *Fleet) askMove(r *run, reason string) bool {
	if r.sharedPhase() != phaseQueued || !r.moving.CompareAndSwap(false, true) {
		return false
	}
	if !r.mbox.Push(msgMove{reason: reason}, false) {
		r.moving.Store(false)
		return false
	}
	return true
}

// onMove handles msgMove in the run's goroutine.
func (r *run) onMove(ctx context.Context, m msgMove) verdict {
	defer r.moving.Store(false)
	if r.phase != phaseQueued || r.cancelAsked {
		return keepGoing
	}
	// A stop must not fall between the delete and the store update.
	r.f.busy.enter()
	defer r.f.busy.leave()
	cctx, cancel := context.WithTimeout(ctx, r.f.cfg.RequestTimeout)
	err := r.b.client.DeleteQueued(cctx, r.promptID)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			r.f.log.Warn("fleet: cannot take a waiting prompt off its backend; it stays", "job", r.jobID, "backend", r.b.ID(), "err", err)
		}
		return keepGoing
	}
	w, err := r.locate(ctx)
	switch {
	case err != nil:
		return keepGoing // not confirmed: it stays (and is asked about again)
	case w == whereRunning:
		r.b.setCurrent(r.promptID)
		r.markStarted(ctx)
		return keepGoing
	case w == wherePending:
		return keepGoing
	case w == whereFinished:
		return vFinished
	}
	return r.withdraw(ctx, m.reason)
}

// withdraw puts a job whose prompt is confirmed gone from its backend,
// never started, back in comfygate's queue. A job whose cancel was asked
// for meanwhile is cancelled instead.
func (r *run) withdraw(ctx context.Context, reason string) verdict {
	now := r.f.clock.Now()
	requeued := false
	_, ok := r.update(ctx, func(j *job.Job) (*job.Event, error) {
		if j.CancelRequested {
			j.Error = nil
			return r.terminal(j, job.StateCancelled, "")
		}
		if err := j.TransitionTo(job.StateQueued, now); err != nil {
			return nil, err
		}
		j.LeaseOwner, j.LeaseUntil = "", now
		j.Progress = job.Progress{}
		requeued = true
		return job.NewEvent(job.EventQueued, job.QueuedData{}), nil
	})
	if !ok {
		// The prompt is off the backend but the job is still bound to
		// it: retrying it is what a lost prompt gets.
		return vLost
	}
	if requeued {
		r.f.m.finished.WithLabelValues(outcomeMoved).Inc()
		r.f.log.Info("fleet: moved a waiting job off its backend", "job", r.jobID, "backend", r.b.ID(), "reason", reason)
		r.releaseSlot()
		r.f.forgetRun(r) // so the scheduler takes the job back at once
		r.f.Enqueue(r.jobID)
	}
	return vEnded
}

// stealForIdle runs after each scheduling round. A backend still idle then
// found nothing in comfygate's queue it can run, while jobs may wait in
// other backends' prefetch slots behind a running prompt: the oldest such
// job it can run is moved, so it starts now. At most one move per idle
// backend is in flight.
func (f *Fleet) stealForIdle() {
	var idle []*Backend
	for _, b := range f.snapshot() {
		if b.accepting() && b.inflight.Load() == 0 && b.socketUp.Load() {
			idle = append(idle, b)
		}
	}
	if len(idle) == 0 {
		return
	}
	waiting, moving := f.waitingBehind()
	budget := len(idle) - moving
	for _, r := range waiting {
		if budget <= 0 {
			return
		}
		target := slices.IndexFunc(idle, func(b *Backend) bool { return b != r.b && b.canRun(r.req) })
		if target >= 0 && f.askMove(r, "backend "+idle[target].ID()+" is idle") {
			budget--
		}
	}
}

// waitingBehind returns this replica's runs waiting in a backend's queue
// behind another prompt of ours that runs there, oldest job first, and how
// many runs are being moved now.
func (f *Fleet) waitingBehind() (waiting []*run, moving int) {
	for _, r := range f.allLocalRuns() {
		switch {
		case r.moving.Load():
			moving++
		case r.sharedPhase() == phaseQueued && r.b.runsOtherThan(r):
			waiting = append(waiting, r)
		}
	}
	slices.SortFunc(waiting, func(a, b *run) int { return cmp.Compare(a.seq, b.seq) })
	return waiting, moving
}

// runsOtherThan reports whether another run of ours is executing on b.
func (b *Backend) runsOtherThan(r *run) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, o := range b.runs {
		if o != r && o.sharedPhase() == phaseRunning {
			return true
		}
	}
	return false
}
