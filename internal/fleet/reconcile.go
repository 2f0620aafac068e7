package fleet

import (
	"context"
	"errors"

	"github.com/comfygate/comfygate/comfy"
)

// where is what the backend says about a prompt.
type where int

const (
	wherePending  where = iota + 1 // waiting in its queue
	whereRunning                   // the prompt it runs now
	whereFinished                  // in its history: ran to an end
	whereNowhere                   // in neither: lost, or deleted before it started
)

// locate asks the backend where the prompt is. /queue is read before
// /history: ComfyUI moves a prompt from one to the other under one lock, so
// a prompt that finishes between the two reads is still found, and a prompt
// found in neither can no longer start there (it was deleted, or the
// backend restarted without it). A prompt found on the backend clears any
// death charged to the run: the backend is alive and still has it.
func (r *run) locate(ctx context.Context) (where, error) {
	qctx, cancel := context.WithTimeout(ctx, r.f.cfg.RequestTimeout)
	defer cancel()
	q, err := r.b.client.Queue(qctx)
	if err != nil {
		return 0, err
	}
	if item, running, ok := q.Find(r.promptID); ok {
		r.suspect.Store(false)
		r.blind.Store(item.ClientID() != r.b.clientID)
		r.setNumber(item.Number)
		if running {
			return whereRunning, nil
		}
		return wherePending, nil
	}
	_, err = r.b.client.PromptHistory(qctx, r.promptID)
	switch {
	case err == nil:
		r.suspect.Store(false)
		return whereFinished, nil
	case errors.Is(err, comfy.ErrNotFound):
		return whereNowhere, nil
	}
	return 0, err
}

// reconcile asks the backend where the prompt is, when its events may have
// been lost: in /queue → keep following; in /history → it finished,
// collect it; in neither → the backend lost it.
func (r *run) reconcile(ctx context.Context, reason string) verdict {
	if r.phase < phaseQueued {
		return keepGoing // the POST is still in flight; it will say
	}
	w, err := r.locate(ctx)
	if err != nil {
		return r.unreachable(ctx, reason, err)
	}
	switch w {
	case wherePending, whereRunning:
		r.touch(r.f.clock.Now())
		if w == whereRunning {
			r.b.setCurrent(r.promptID)
			r.markStarted(ctx)
		}
		return keepGoing
	case whereFinished:
		return vFinished
	}
	r.f.log.Warn("fleet: backend lost a job", "job", r.jobID, "backend", r.b.ID(), "prompt", r.promptID, "check", reason)
	return vLost
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
