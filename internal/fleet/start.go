package fleet

import (
	"context"
	"time"

	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/job"
)

// pendingStart is a run's start that is not recorded yet (see
// Config.StartWindow): when ComfyUI started the run, the timer that closes
// the window, and the ephemeral events published while it is open, which
// go out after the "started" event.
type pendingStart struct {
	at    time.Time
	timer *time.Timer // nil once the window closed
	held  []heldEvent
}

// heldEvent is an ephemeral event waiting for the start to be recorded.
type heldEvent struct {
	typ  string
	data []byte
	at   time.Time
}

// maxHeld bounds the ephemeral events held while a start waits; the oldest
// go first, as a slow subscriber's would.
const maxHeld = 64

// markStarted notes execution_start: dispatched → running, recorded when
// the start window closes or with the run's end, whichever comes first.
func (r *run) markStarted(ctx context.Context) {
	if r.phase >= phaseRunning {
		return
	}
	r.setPhase(phaseRunning)
	now := r.f.clock.Now()
	r.prog.lastPersist = now // the first progress write waits ProgressEvery
	r.start = &pendingStart{at: now}
	if r.f.cfg.StartWindow < 0 {
		r.recordStart(ctx)
		return
	}
	r.start.timer = time.NewTimer(r.f.cfg.StartWindow)
}

// startDue fires when the start window closes; nil without a pending start.
func (r *run) startDue() <-chan time.Time {
	if r.start == nil || r.start.timer == nil {
		return nil
	}
	return r.start.timer.C
}

// recordStart closes the start window: it records a pending start on its
// own and lets held events go. Should that fail, the start is still
// recorded with the run's next transition.
func (r *run) recordStart(ctx context.Context) {
	if r.start == nil {
		return
	}
	// Deferred-sync: a start rolled back by a power cut leaves the job
	// dispatched, and recovery re-attaches it.
	r.updateEvents(job.DeferSync(ctx), func(_ *job.Job, started bool) ([]job.Event, error) {
		if !started {
			return nil, errStale // running already (re-attached): nothing to record
		}
		return nil, nil
	})
	if p := r.start; p != nil { // not recorded
		p.stopTimer()
		r.release(p)
	}
}

// startInto applies a pending start to j inside a store transaction: the
// job goes running at the time ComfyUI started it, and the returned
// "started" event precedes whatever else the transaction records. A job
// no longer dispatched (running already, after a re-attach) gets nothing.
func (r *run) startInto(j *job.Job) (*job.Event, error) {
	if r.start == nil || j.State != job.StateDispatched {
		return nil, nil
	}
	if err := j.TransitionTo(job.StateRunning, r.start.at); err != nil {
		return nil, err
	}
	return job.NewEvent(job.EventStarted, job.DispatchedData{Backend: j.Backend, Attempt: j.Attempts}), nil
}

// startRecorded ends a pending start once a transaction recorded it (or
// found it moot), and releases the events held for it: call it right
// after publishing the "started" event, so that they follow it.
func (r *run) startRecorded() {
	p := r.start
	if p == nil {
		return
	}
	r.start = nil
	p.stopTimer()
	r.release(p)
}

// release publishes the events held for p.
func (r *run) release(p *pendingStart) {
	for _, h := range p.held {
		r.f.hub.Publish(events.Event{JobID: r.jobID, Owner: r.owner, Seq: r.lastSeq, Sub: 1, Type: h.typ, Data: h.data, Time: h.at})
	}
	p.held = nil
}

// dropStart forgets a pending start the run will not record (it stops).
func (r *run) dropStart() {
	if r.start != nil {
		r.start.stopTimer()
	}
	r.start = nil
}

// holding reports whether ephemeral events wait for the start.
func (p *pendingStart) holding() bool { return p != nil && p.timer != nil }

func (p *pendingStart) stopTimer() {
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
}

// hold keeps an ephemeral event until the pending start is recorded.
func (p *pendingStart) hold(typ string, data []byte, at time.Time) {
	if len(p.held) == maxHeld {
		p.held = append(p.held[:0], p.held[1:]...)
	}
	p.held = append(p.held, heldEvent{typ: typ, data: data, at: at})
}
