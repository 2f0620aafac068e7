package fleet

import (
	"context"
	"errors"
	"fmt"

	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/job"
)

// msgCancel asks a run to stop its prompt. reply, if not nil, is closed once
// the run has acted (deleted the prompt from ComfyUI's queue, or sent the
// interrupt).
type msgCancel struct{ reply chan struct{} }

// Cancel cancels a job in any state and returns it as it is afterwards:
//   - queued or retrying: cancelled at once;
//   - dispatched (waiting in ComfyUI's queue): deleted there, then
//     cancelled; if it started meanwhile, it is interrupted as below;
//   - running: interrupted; the job ends cancelled when ComfyUI confirms,
//     so the returned job is still running with CancelRequested set;
//   - terminal: nothing happens.
//
// A run that finishes successfully while the interrupt is on its way ends
// succeeded: its outputs exist and are delivered, which is the honest
// report of what happened. CancelRequested records that a cancel was asked.
func (f *Fleet) Cancel(ctx context.Context, jobID string) (*job.Job, error) {
	f.qmu.Lock()
	f.policy.Remove(jobID)
	f.qmu.Unlock()
	j, done, err := f.cancelQueued(ctx, jobID)
	if err != nil || done {
		return j, err
	}
	j, err = f.requestCancel(ctx, jobID)
	if err != nil || j.State.Terminal() {
		return j, err
	}
	if r := f.localRun(jobID); r != nil {
		reply := make(chan struct{})
		if r.mbox.Push(msgCancel{reply: reply}, false) {
			select {
			case <-reply:
			case <-ctx.Done():
				return nil, fmt.Errorf("cancel job %s: %w", jobID, ctx.Err())
			}
		}
	}
	// A job bound elsewhere (another replica, or not re-attached yet) is
	// stopped by whoever follows it: told now, and in any case when it
	// renews the job's lease and sees CancelRequested.
	f.cfg.Peers.Send(Signal{Kind: SignalCancel, ID: jobID})
	return f.store.GetJob(ctx, jobID)
}

// cancelQueued cancels a job still in comfygate's queue. done is false when
// the job is on a backend (or terminal: then j is returned with done true).
func (f *Fleet) cancelQueued(ctx context.Context, jobID string) (*job.Job, bool, error) {
	now := f.clock.Now()
	var current *job.Job
	j, ev, err := f.store.UpdateJobWithEvent(ctx, jobID, func(j *job.Job) (*job.Event, error) {
		if !j.State.Dispatchable() {
			current = j
			return nil, job.ErrConflict
		}
		if err := j.TransitionTo(job.StateCancelled, now); err != nil {
			return nil, err
		}
		j.CancelRequested = true
		return job.NewEvent(job.EventCancelled, nil), nil
	})
	switch {
	case err == nil:
		f.m.finished.WithLabelValues(string(job.StateCancelled)).Inc()
		f.m.jobs.ended(j)
		f.publishJobEvent(j, ev)
		return j, true, nil
	case errors.Is(err, job.ErrConflict) && current != nil:
		return current, current.State.Terminal(), nil
	}
	return nil, false, fmt.Errorf("cancel job %s: %w", jobID, err)
}

// requestCancel records the cancel on a job bound to a backend, so it
// survives a crash and decides how an interrupted run ends.
func (f *Fleet) requestCancel(ctx context.Context, jobID string) (*job.Job, error) {
	j, err := f.store.UpdateJob(ctx, jobID, func(j *job.Job) error {
		if j.State.Terminal() {
			return errTerminal
		}
		j.CancelRequested = true
		return nil
	})
	if errors.Is(err, errTerminal) {
		return f.store.GetJob(ctx, jobID)
	}
	if err != nil {
		return nil, fmt.Errorf("cancel job %s: %w", jobID, err)
	}
	return j, nil
}

var errTerminal = errors.New("job is terminal")

// publishJobEvent sends a stored event of j to the hub; a terminal one
// carries the job it ended, which streams show with it.
func (f *Fleet) publishJobEvent(j *job.Job, ev *job.Event) {
	switch {
	case ev == nil:
	case job.TerminalEvent(ev.Type):
		f.hub.Publish(events.WithJob(j, *ev))
	default:
		f.hub.Publish(events.FromStore(j.Owner, *ev))
	}
}

// onCancel stops the run's prompt on the backend. A prompt still pending is
// deleted from ComfyUI's queue; if it turns out to have started, or is
// running, it is interrupted and the run goes on until ComfyUI reports the
// interruption.
func (r *run) onCancel(ctx context.Context, m msgCancel) verdict {
	if m.reply != nil {
		defer close(m.reply)
	}
	if r.cancelAsked {
		return keepGoing
	}
	r.cancelAsked = true
	cctx, cancel := context.WithTimeout(ctx, r.f.cfg.RequestTimeout)
	defer cancel()
	if r.phase == phaseQueued {
		if err := r.b.client.DeleteQueued(cctx, r.promptID); err != nil {
			r.f.log.Warn("fleet: deleting a queued prompt failed", "job", r.jobID, "err", err)
		}
		switch v := r.reconcile(ctx, "cancel"); v {
		case vLost: // deleted before it started: end it before answering
			r.endCancelled(ctx)
			return vEnded
		case keepGoing:
			if r.phase != phaseRunning {
				r.cancelAsked = false // still pending: a later cancel retries
				return keepGoing
			}
		default:
			return v
		}
	}
	if err := r.b.client.InterruptPrompt(cctx, r.promptID); err != nil && ctx.Err() == nil {
		r.f.log.Warn("fleet: interrupt failed", "job", r.jobID, "err", err)
		r.cancelAsked = false
	}
	return keepGoing
}
