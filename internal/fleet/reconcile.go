package fleet

import (
	"context"
	"errors"

	"github.com/comfygate/comfygate/comfy"
)

// reconcile asks the backend where the prompt is, when its events may have
// been lost: in /queue → keep following (a run listed there is never
// stalled, however long it takes); in /history → it finished, collect it;
// in neither → the backend lost it. /queue is read before /history: ComfyUI
// moves a prompt from one to the other under one lock, so a prompt that
// finishes between the two reads is still found.
func (r *run) reconcile(ctx context.Context, reason string) verdict {
	if r.phase < phaseQueued {
		return keepGoing // the POST is still in flight; it will say
	}
	qctx, cancel := context.WithTimeout(ctx, r.f.cfg.RequestTimeout)
	defer cancel()
	q, err := r.b.client.Queue(qctx)
	if err != nil {
		return r.unreachable(ctx, reason, err)
	}
	if item, running, ok := q.Find(r.promptID); ok {
		r.touch(r.f.clock.Now())
		r.foreign = item.ClientID() != r.b.clientID
		if running {
			r.b.setCurrent(r.promptID)
			r.markStarted(ctx)
		}
		return keepGoing
	}
	_, err = r.b.client.PromptHistory(qctx, r.promptID)
	switch {
	case err == nil:
		return vFinished
	case errors.Is(err, comfy.ErrNotFound):
		r.f.log.Warn("fleet: backend lost a job", "job", r.jobID, "backend", r.b.ID(), "prompt", r.promptID, "check", reason)
		return vLost
	}
	return r.unreachable(ctx, reason, err)
}

// unreachable: the backend did not answer. While it is not declared down we
// wait (its socket or the next poll will tell); once it is down, we give up
// on it and the job runs elsewhere.
func (r *run) unreachable(ctx context.Context, reason string, err error) verdict {
	if ctx.Err() != nil {
		return vAbandon
	}
	if r.b.isDown() || r.b.removed.Load() {
		r.f.log.Warn("fleet: giving up on a job of an unreachable backend", "job", r.jobID, "backend", r.b.ID(), "check", reason, "err", err)
		return vGiveUp
	}
	return keepGoing
}
