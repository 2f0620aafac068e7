package fleet

import (
	"context"
	"fmt"
	"time"

	"github.com/comfygate/comfygate/comfy"
)

// Stalls. A ComfyUI stuck in a CUDA call, a deadlocked custom node or a
// wedged driver still answers HTTP (its server runs on another thread) but
// says nothing about the prompt it runs. Without a limit, that prompt and
// the one prefetched behind it wait forever while other backends idle.
//
// A backend is stalled when it shows no sign of work for StallTimeout
// while it has our prompts: a prompt it runs got no frame on our socket
// that long, or a prompt waiting in its queue was not started and the
// backend sent no execution frame at all (its worker is stuck, maybe on a
// prompt that is not ours). The waiting prompts are then moved (move.go).
// A running prompt's run checks with the backend first (its end may have
// been lost), then:
//  1. marks the backend stalled: it takes no new jobs, and the prompts
//     waiting behind in its queue are moved off it (move.go), before
//  2. the stalled prompt is interrupted there (POST /interrupt with its
//     prompt id: ComfyUI ignores it unless that prompt is the running one),
//     and the job is retried elsewhere as an ordinary failed attempt.
//
// Moving the waiting prompts first matters: ComfyUI's interrupt is a
// process-wide flag checked at the next node or step and cleared when a
// prompt starts, so an interrupt that lands as one prompt ends can hit the
// next one; with nothing of ours behind it, it hits nothing of ours (and a
// run that is hit anyway is retried, not failed: finish.go).
//
// The interrupt cannot be confirmed on a stuck backend: it answers nothing
// until the call it is stuck in returns. It is not waited for. Once the
// flag is set, ComfyUI stops the prompt at its next node or step, and the
// attempt is no longer bound to the job, so nothing it might still produce
// is collected. The prompt is also kept as an orphan of the backend, which
// is interrupted again when the backend answers.
//
// A stalled backend takes jobs again once it speaks: an execution frame on
// its socket (its worker moved), or, StallTimeout after the stall, a probe
// that finds its queue empty (what it was stuck on ended, or it
// restarted). A worker stuck between prompts looks idle to that probe; the
// next job it gets waits StallTimeout and moves again, so it costs time,
// never a second run.
//
// A run posted under another client id (re-attached after a restart of
// another replica) sends us no frames, so it cannot be judged silent; it is
// only reconciled.

// msgStall tells a run its prompt has been silent for StallTimeout while
// running.
type msgStall struct{}

// checkStalls runs on every health tick. A running prompt silent for
// StallTimeout gets msgStall; a waiting prompt the backend has not started
// in that time, with no sign of work from it, stalls the backend; any run
// silent that long is reconciled (its end may have been lost); the
// waiting runs of a stalled backend are asked to move.
func (f *Fleet) checkStalls(b *Backend) {
	now := f.clock.Now()
	for _, r := range b.allRuns() {
		switch {
		case r.silentFor(now) >= f.cfg.StallTimeout && r.judgeable():
			if r.stallAsked.CompareAndSwap(false, true) {
				r.mbox.Push(msgStall{}, false)
			}
		case r.sharedPhase() == phaseQueued && r.judgeable() && r.waitedFor(now) >= f.cfg.StallTimeout:
			f.markStalled(b, r.jobID, fmt.Sprintf("a waiting prompt was not started in %s, with no sign of work", roundDuration(r.waitedFor(now))))
			f.askMove(r, "backend "+b.ID()+" stalled")
		case b.stalled.Load() && r.sharedPhase() == phaseQueued:
			f.askMove(r, "backend "+b.ID()+" stalled")
		case now.Sub(r.lastSeen()) >= f.cfg.StallTimeout:
			r.touch(now) // one check per StallTimeout, not one per tick
			r.mbox.Push(msgCheck{reason: "silent"}, false)
		}
	}
}

// silentFor is how long the run's prompt has been running without a frame.
func (r *run) silentFor(now time.Time) time.Duration {
	if r.sharedPhase() != phaseRunning {
		return 0
	}
	return now.Sub(time.Unix(0, r.heard.Load()))
}

// waitedFor is how long the run's prompt has waited in the backend's queue
// while the backend showed no sign of work.
func (r *run) waitedFor(now time.Time) time.Duration {
	since := max(r.heard.Load(), r.b.workedAt.Load())
	return now.Sub(time.Unix(0, since))
}

// judgeable: our socket would carry the prompt's frames if there were any.
func (r *run) judgeable() bool { return !r.blind.Load() && r.b.socketUp.Load() }

// onStall handles msgStall in the run's goroutine.
func (r *run) onStall(ctx context.Context) verdict {
	defer r.stallAsked.Store(false)
	// Its end may have been lost, or the backend may have restarted.
	if v := r.reconcile(ctx, "stalled"); v != keepGoing {
		return v
	}
	silence := r.silentFor(r.f.clock.Now())
	if r.phase != phaseRunning || silence < r.f.cfg.StallTimeout || !r.judgeable() {
		return keepGoing // it spoke meanwhile, or it is not running after all
	}
	r.f.busy.enter() // a stop must not fall between the interrupt and the retry
	defer r.f.busy.leave()
	r.f.markStalled(r.b, r.jobID, fmt.Sprintf("no word about the running prompt for %s", roundDuration(silence)))
	cctx, cancel := context.WithTimeout(ctx, r.f.cfg.RequestTimeout)
	err := r.b.client.InterruptPrompt(cctx, r.promptID)
	cancel()
	if err != nil {
		// It does not answer HTTP either: the probes will mark it down,
		// and the down path takes over. Until then the job stays.
		r.f.log.Warn("fleet: cannot interrupt a stalled prompt", "job", r.jobID, "backend", r.b.ID(), "err", err)
		return keepGoing
	}
	r.b.stallInterruptAt.Store(r.f.clock.Now().UnixNano())
	r.b.addOrphan(r.promptID, r.jobID)
	r.f.log.Warn("fleet: interrupted a stalled prompt; retrying the job elsewhere", "job", r.jobID, "backend", r.b.ID(), "silent", silence)
	r.retry(ctx, outcomeStalled, fmt.Sprintf("backend %s sent nothing about the job for %s while running it; interrupted there", r.b.ID(), roundDuration(silence)))
	return vEnded
}

// markStalled stops giving b new jobs and moves the prompts waiting in its
// queue. reason is shown in the backend's view (to any key): no job ids.
func (f *Fleet) markStalled(b *Backend, jobID, reason string) {
	if !b.stalled.CompareAndSwap(false, true) {
		return
	}
	b.stalledAt.Store(f.clock.Now().UnixNano())
	f.noteFailure(b, "stalled: "+reason, nil)
	f.log.Warn("fleet: backend stalled; no new jobs until it answers", "backend", b.ID(), "job", jobID, "reason", reason)
	f.m.setBackendState(b)
	for _, r := range b.allRuns() {
		f.askMove(r, "backend "+b.ID()+" stalled")
	}
}

// unstall lets b take jobs again: it answered.
func (f *Fleet) unstall(b *Backend, why string) {
	if !b.stalled.CompareAndSwap(true, false) {
		return
	}
	f.log.Info("fleet: stalled backend answers again", "backend", b.ID(), "evidence", why)
	f.m.setBackendState(b)
	b.requestProbe() // the health loop cleans up the interrupted prompts
	f.wakeScheduler()
}

// probeStalled looks whether a backend stalled for at least StallTimeout
// has anything in its queue; empty, it is usable again. (The wait lets the
// jobs moved off it go elsewhere first: an empty queue does not prove a
// worker stuck between prompts is well.) On a usable backend, the orphans
// left by a stall or an outage are cleaned up.
func (f *Fleet) probeStalled(ctx context.Context, b *Backend) {
	if !b.stalled.Load() {
		if b.health.Load() == healthHealthy {
			f.cleanOrphans(ctx, b)
		}
		return
	}
	if f.clock.Now().Sub(time.Unix(0, b.stalledAt.Load())) < f.cfg.StallTimeout {
		return
	}
	qctx, cancel := context.WithTimeout(ctx, f.cfg.RequestTimeout)
	defer cancel()
	q, err := b.client.Queue(qctx)
	if err == nil && len(q.Running) == 0 && len(q.Pending) == 0 {
		f.unstall(b, "its queue is empty")
	}
}

// executionFrame reports whether ev shows a backend's worker moving.
// Status broadcasts do not: ComfyUI's server thread sends them while the
// worker is stuck.
func executionFrame(ev comfy.Event) bool {
	switch ev.(type) {
	case comfy.ExecutionStart, comfy.ExecutionCached, comfy.Executing, comfy.Executed,
		comfy.ExecutionSuccess, comfy.ExecutionError, comfy.ExecutionInterrupted,
		comfy.Progress, comfy.ProgressState, comfy.PreviewImage, comfy.PreviewImageWithMetadata:
		return true
	}
	return false
}

// roundDuration shortens d for messages.
func roundDuration(d time.Duration) time.Duration {
	if d >= 10*time.Second {
		return d.Round(time.Second)
	}
	return d.Round(10 * time.Millisecond)
}
