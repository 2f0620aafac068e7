package comfyapi

import (
	"context"
	"encoding/json"
	"time"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/job"
)

// holdCheck is how long a held run end waits for its job's lifecycle event
// before the relay asks the store whether the job has ended.
const holdCheck = 10 * time.Second

// holdEnd keeps a message of the run's end (execution_success/error/
// interrupted, executing null) until the job is finalized in the store:
// ComfyUI sends "executing null" only after the history entry is written,
// and clients call GET /history/{id} the moment they see it.
func (r *relay) holdEnd(js *jobState, of outFrame) {
	if js.hold == nil {
		js.hold = &entry{}
		r.queueFor(js.info.owner).push(r, js.hold)
	}
	js.hold.frames = append(js.hold.frames, dropEmpty([]outFrame{of})...)
}

// isEnd reports whether of is the final "executing" (node null).
func isEnd(of outFrame) bool {
	var m struct {
		Type string `json:"type"`
		Data struct {
			Node *string `json:"node"`
		} `json:"data"`
	}
	return !of.f.binary && len(of.f.data) > 0 && json.Unmarshal(of.f.data, &m) == nil &&
		m.Type == comfy.EventExecuting && m.Data.Node == nil
}

// onLifecycle follows a job's durable lifecycle events.
func (r *relay) onLifecycle(ev events.Event) {
	switch ev.Type {
	case job.EventQueued:
		if j := ev.Job; j != nil && !r.ended.has(j.ID) {
			// Where its messages go, without reading it back when its
			// first message comes.
			if js := r.state(j.ID); js.info == nil {
				js.setInfo(r, infoOf(j, job.ComfyMetaOf(j)))
			}
		}
		if r.h.tracker.add(ev.Owner, ev.JobID, job.StateQueued) {
			r.queueFor(ev.Owner).push(r, &entry{ready: true, frames: []outFrame{fixedStatus(r.h.tracker.count(ev.Owner))}})
		}
	case job.EventDispatched:
		var d job.DispatchedData
		_ = json.Unmarshal(ev.Data, &d)
		r.h.tracker.add(ev.Owner, ev.JobID, job.StateDispatched)
		if !r.ended.has(ev.JobID) {
			r.state(ev.JobID).backend = d.Backend
		}
	case job.EventRetrying:
		r.flushNames(ev.JobID)
		r.h.tracker.add(ev.Owner, ev.JobID, job.StateRetrying)
		if js := r.jobs[ev.JobID]; js != nil {
			r.dropAttempt(js)
		}
	case job.EventSucceeded, job.EventFailed, job.EventCancelled:
		r.h.ended.add(ev)
		r.flushNames(ev.JobID) // what the end did not take
		r.finish(ev, r.h.tracker.remove(ev.Owner, ev.JobID))
	}
}

// dropAttempt forgets the end of an attempt the fleet retries: the job is
// not over, so its held messages (an out-of-memory error, say) never go out.
func (r *relay) dropAttempt(js *jobState) {
	if js.hold != nil {
		js.hold.frames = nil
		r.markReady(js.info.owner, js.hold)
		js.hold = nil
	}
	js.started, js.cached = false, nil
	r.started.Delete(js.id)
}

// finish releases a finalized job's end: the held messages, with the
// status broadcast ComfyUI sends before "executing null"; or, when the
// backend's end never reached us (or comfygate ended the job itself), the
// same messages made from the job.
func (r *relay) finish(ev events.Event, statusDue bool) {
	js := r.jobs[ev.JobID]
	delete(r.jobs, ev.JobID)
	r.ended.add(ev.JobID)
	r.started.Delete(ev.JobID)
	if js == nil || js.info == nil {
		r.finishUnknown(ev, statusDue)
		return
	}
	info := js.info
	if info.hasClient {
		r.resync.clear(info.owner, info.clientID)
	}
	if js.hold != nil {
		var frames, end []outFrame
		for _, of := range js.hold.frames {
			if isEnd(of) {
				end = append(end, of)
			} else {
				frames = append(frames, of)
			}
		}
		if statusDue {
			frames = append(frames, outFrame{status: true})
		}
		if len(end) == 0 {
			end = []outFrame{r.targeted(info, comfy.Executing{PromptID: info.promptID})}
		}
		js.hold.frames = dropEmpty(append(frames, end...))
		r.markReady(info.owner, js.hold)
		return
	}
	r.synthesize(info, ev, js.started, statusDue)
}

// finishUnknown ends a job whose messages never came through here.
func (r *relay) finishUnknown(ev events.Event, statusDue bool) {
	if statusDue {
		r.queueFor(ev.Owner).push(r, &entry{ready: true, frames: []outFrame{fixedStatus(r.h.tracker.count(ev.Owner))}})
	}
	if ev.Type == job.EventCancelled || !r.h.sockets.hasOwner(ev.Owner) {
		return // a prompt deleted from the queue gets no more messages
	}
	if j := ev.Job; j != nil {
		info := infoOf(j, job.ComfyMetaOf(j))
		r.synthesize(&info, ev, false, false)
		return
	}
	r.task(func(ctx context.Context) func() {
		j, err := r.h.store.GetJob(ctx, ev.JobID)
		if err != nil {
			return nil
		}
		return func() {
			info := infoOf(j, job.ComfyMetaOf(j))
			r.synthesize(&info, ev, false, false)
		}
	})
}

// synthesize sends the end of a run whose end ComfyUI never told us.
func (r *relay) synthesize(info *jobInfo, ev events.Event, started, statusDue bool) {
	ranToEnd := ev.Type != job.EventCancelled || started
	e := &entry{}
	status := []outFrame{}
	if statusDue {
		status = append(status, outFrame{status: true})
	}
	tail := func(first []outFrame) []outFrame {
		out := append(first, status...)
		if ranToEnd {
			out = append(out, r.targeted(info, comfy.Executing{PromptID: info.promptID}))
		}
		return dropEmpty(out)
	}
	switch {
	case ev.Type == job.EventSucceeded:
		e.frames, e.ready = tail([]outFrame{r.targeted(info, comfy.ExecutionSuccess{PromptID: info.promptID, Timestamp: ev.Time.UnixMilli()})}), true
	case ev.Type == job.EventCancelled && started:
		it := comfy.ExecutionInterrupted{PromptID: info.promptID, Executed: []string{}, Timestamp: ev.Time.UnixMilli()}
		e.frames, e.ready = tail([]outFrame{r.progressLike(info, it)}), true
	case ev.Type == job.EventCancelled:
		e.frames, e.ready = tail(nil), true
	case ev.Job != nil: // failed: the error comes from the job
		e.frames, e.ready = tail(endFrames(r, info, ev.Job)), true
	default:
		id := ev.JobID
		r.task(func(ctx context.Context) func() {
			j, err := r.h.store.GetJob(ctx, id)
			return func() {
				var first []outFrame
				if err == nil {
					first = endFrames(r, info, j)
				}
				e.frames = tail(first)
				r.markReady(info.owner, e)
			}
		})
	}
	r.queueFor(info.owner).push(r, e)
}

// endFrames are the frames of a failed job's error, as ComfyUI sends it.
func endFrames(r *relay, info *jobInfo, j *job.Job) []outFrame {
	if end := endEvent(j, info.promptID); end != nil {
		return []outFrame{r.targeted(info, end)}
	}
	return nil
}

// resyncEnds asks the store about every job the relay is following, after
// lifecycle events may have been lost, and finishes those that ended.
func (r *relay) resyncEnds() {
	for id := range r.jobs {
		r.checkEnd(id)
	}
}

// checkEnd finishes a job the store says has ended.
func (r *relay) checkEnd(id string) {
	r.task(func(ctx context.Context) func() {
		j, err := r.h.store.GetJob(ctx, id)
		if err != nil || !j.State.Terminal() {
			return nil
		}
		// A finished job's last stored event is its end.
		ev := events.FromStore(j.Owner, job.Event{JobID: j.ID, Seq: j.EventSeq, Type: job.EndEvent(j.State), Time: j.FinishedAt})
		return func() {
			if r.jobs[id] != nil {
				r.onLifecycle(ev)
			}
		}
	})
}

// checkHolds asks the store about runs whose end has been held long.
func (r *relay) checkHolds() {
	now := r.h.cfg.Clock()
	for id, js := range r.jobs {
		if js.hold != nil && !js.hold.ready && now.Sub(js.hold.since) >= holdCheck && now.Sub(js.checked) >= holdCheck {
			js.checked = now
			r.checkEnd(id)
		}
	}
}
