package fleet

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/job"
)

// Outcomes recorded on attempts besides the job states'.
const (
	outcomeBackendLost = "backend_lost"
	outcomeBackendDown = "backend_down"
	outcomeSubmit      = "submit_failed"
	outcomeOOM         = "out_of_memory"
	outcomeOutputsGone = "outputs_gone"
	outcomeStalled     = "stalled"
	outcomeMoved       = "moved"
	// outcomeStallInterrupt: hit by an interrupt meant for a stalled prompt.
	outcomeStallInterrupt = "stall_interrupt"
)

// errStale is returned inside store callbacks when the job is no longer
// bound to this run (another replica or a newer attempt owns it).
var errStale = fmt.Errorf("%w: job no longer bound to this run", job.ErrConflict)

// bound reports whether j is still this run's attempt on this backend, and
// this replica's: a replica that took the backend over re-attached the job
// in its own name, and a late write of the old one must not land.
func (r *run) bound(j *job.Job) bool {
	return j.State.Active() && j.Backend == r.b.ID() && j.Attempts == r.attempt && j.LeaseOwner == r.f.cfg.InstanceID
}

// update runs fn on the job in one store transaction, guarded by bound,
// and publishes the event fn returns. It reports whether the job changed.
func (r *run) update(ctx context.Context, fn func(j *job.Job) (*job.Event, error)) (*job.Job, bool) {
	return r.updateEvents(ctx, func(j *job.Job, _ bool) ([]job.Event, error) {
		ev, err := fn(j)
		if ev == nil || err != nil {
			return nil, err
		}
		return []job.Event{*ev}, nil
	})
}

// updateEvents runs fn on the job in one store transaction, guarded by
// bound, together with the run's pending start (see startInto; started
// tells fn whether it applied), records arts with it, and publishes the
// events. It reports whether the job changed.
func (r *run) updateEvents(ctx context.Context, fn func(j *job.Job, started bool) ([]job.Event, error), arts ...*job.Artifact) (*job.Job, bool) {
	j, evs, started, ok := r.transact(ctx, fn, arts...)
	if ok {
		r.announce(j, evs, started)
	}
	return j, ok
}

// transact is updateEvents without the announcement: the caller calls
// announce once it has done what must precede the events.
func (r *run) transact(ctx context.Context, fn func(j *job.Job, started bool) ([]job.Event, error), arts ...*job.Artifact) (*job.Job, []job.Event, bool, bool) {
	return r.transactNamed(ctx, fn, nil, arts...)
}

// transactNamed is transact that also stores names (see endnames.go).
func (r *run) transactNamed(ctx context.Context, fn func(j *job.Job, started bool) ([]job.Event, error), names *endNames, arts ...*job.Artifact) (*job.Job, []job.Event, bool, bool) {
	started := false
	j, evs, err := names.update(ctx, r.f.store, r.jobID, func(j *job.Job) ([]job.Event, error) {
		if !r.bound(j) {
			return nil, errStale
		}
		start, err := r.startInto(j)
		if err != nil {
			return nil, err
		}
		evs, err := fn(j, start != nil)
		if err != nil {
			return nil, err
		}
		if started = start != nil; started {
			evs = append([]job.Event{*start}, evs...)
		}
		return evs, nil
	}, arts...)
	if err != nil {
		if ctx.Err() == nil && !errors.Is(err, job.ErrConflict) {
			r.f.log.Error("fleet: store update failed", "job", r.jobID, "err", err)
		}
		return nil, nil, false, false
	}
	return j, evs, started, true
}

// announce observes a committed transaction's metrics and publishes its
// events. The metrics come after the commit (a callback may run again)
// and before the events, so whoever sees an event sees the metric. The
// events held for a pending start follow the "started" event.
func (r *run) announce(j *job.Job, evs []job.Event, started bool) {
	if started {
		r.f.m.jobs.started(j)
	}
	r.f.m.jobs.ended(j)
	for i := range evs {
		r.publish(j, &evs[i])
		if i == 0 && started {
			r.startRecorded()
		}
	}
	r.startRecorded() // a moot start: the job was running already
}

// publish sends a stored event to the hub.
func (r *run) publish(j *job.Job, ev *job.Event) {
	if ev == nil {
		return
	}
	r.lastSeq = ev.Seq
	r.f.publishJobEvent(j, ev)
}

// publishEphemeral sends a progress-like event that is never stored; while
// the run's start waits to be recorded, it waits too.
func (r *run) publishEphemeral(typ string, data any) {
	now := r.f.clock.Now()
	if r.start.holding() {
		r.start.hold(typ, job.EncodeData(data), now)
		return
	}
	r.f.hub.Publish(events.Event{JobID: r.jobID, Owner: r.owner, Seq: r.lastSeq, Sub: 1, Type: typ, Data: job.EncodeData(data), Time: now})
}

// retry ends this attempt with outcome and puts the job back in the queue,
// or fails it when its attempts are used up. A job whose cancel was asked
// for is cancelled instead: there is nothing left to interrupt.
func (r *run) retry(ctx context.Context, outcome, msg string) {
	now := r.f.clock.Now()
	requeued := false
	_, ok := r.update(ctx, func(j *job.Job) (*job.Event, error) {
		j.Error = &job.Error{Type: outcome, Message: msg}
		switch {
		case j.CancelRequested:
			j.Error = nil
			return r.terminal(j, job.StateCancelled, "")
		case outcome == outcomeBackendCrashed && r.f.crashBudgetSpent(j):
			ev, err := r.terminal(j, job.StateFailed, outcome)
			j.Error = r.suspectedCrash(j)
			return ev, err
		case j.Attempts >= r.f.maxAttempts(j):
			ev, err := r.terminal(j, job.StateFailed, outcome)
			j.Error = &job.Error{Type: outcome, Message: attemptSummary(msg, j.AttemptLog)}
			return ev, err
		}
		if err := j.TransitionTo(job.StateRetrying, now); err != nil {
			return nil, err
		}
		refineOutcome(j, outcome)
		j.Error = nil
		j.LeaseOwner, j.LeaseUntil = "", now
		requeued = true
		return job.NewEvent(job.EventRetrying, job.RetryingData{Attempt: j.Attempts, Reason: msg}), nil
	})
	if ok && requeued {
		r.f.m.finished.WithLabelValues("retried").Inc()
		r.f.log.Info("fleet: job retrying", "job", r.jobID, "backend", r.b.ID(), "attempt", r.attempt, "reason", msg)
		r.f.forgetRun(r) // so the scheduler takes the job back at once
		r.f.Enqueue(r.jobID)
	}
}

// terminal moves j to the terminal state and returns its end event;
// outcome refines the attempt.
func (r *run) terminal(j *job.Job, state job.State, outcome string) (*job.Event, error) {
	if err := j.TransitionTo(state, r.f.clock.Now()); err != nil {
		return nil, err
	}
	if outcome != "" {
		refineOutcome(j, outcome)
	}
	j.LeaseOwner = ""
	if r.history != nil {
		j.ComfyHistory = r.history
	}
	r.f.m.finished.WithLabelValues(string(state)).Inc()
	return job.NewEvent(job.EndEvent(state), nil), nil
}

// fail ends the job failed with e.
func (r *run) fail(ctx context.Context, e *job.Error) {
	r.update(ctx, func(j *job.Job) (*job.Event, error) {
		j.Error = e
		return r.terminal(j, job.StateFailed, "")
	})
	r.b.failed.Add(1)
	// The whole text, for operators: user keys read it without the
	// backend's paths and addresses (gateway.PublicText).
	r.f.log.Info("fleet: job failed", "job", r.jobID, "backend", r.b.ID(), "type", e.Type,
		"node", e.NodeID, "error", e.Message, "traceback", strings.Join(e.Traceback, ""))
}

// endCancelled ends the job cancelled.
func (r *run) endCancelled(ctx context.Context) {
	r.update(ctx, func(j *job.Job) (*job.Event, error) {
		j.Error = nil
		return r.terminal(j, job.StateCancelled, "")
	})
}

// refineOutcome replaces the generic outcome TransitionTo wrote on the
// attempt just closed.
func refineOutcome(j *job.Job, outcome string) {
	if n := len(j.AttemptLog); n > 0 {
		j.AttemptLog[n-1].Outcome = outcome
	}
}

// attemptSummary is the final error message of a job that ran out of
// attempts: the last reason, then what happened on each attempt.
func attemptSummary(last string, log []job.Attempt) string {
	var b strings.Builder
	b.WriteString(last)
	b.WriteString(fmt.Sprintf("; gave up after %d attempts:", len(log)))
	for i, a := range log {
		fmt.Fprintf(&b, " %d) %s: %s", i+1, a.Backend, a.Outcome)
		if a.Error != "" {
			b.WriteString(" (" + a.Error + ")")
		}
		if i < len(log)-1 {
			b.WriteString(";")
		}
	}
	return b.String()
}
