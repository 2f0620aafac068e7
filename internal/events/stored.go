package events

import "github.com/comfygate/comfygate/internal/job"

// FromStore is the hub form of e, a durable event as the store returned it
// (numbered and timed), for a job of owner. Everything that publishes or
// replays a stored event goes through it: the fleet, the gateway, the
// ComfyUI-compatible surface. owner may be "" where no stream of all of an
// owner's jobs will see the event (a resume reads one job's events).
func FromStore(owner string, e job.Event) Event {
	return Event{JobID: e.JobID, Owner: owner, Seq: e.Seq, Type: e.Type, Data: e.Data, Time: e.Time}
}

// WithJob is FromStore for an event that leaves j as it is (see
// Event.Job).
func WithJob(j *job.Job, e job.Event) Event {
	ev := FromStore(j.Owner, e)
	ev.Job = j
	return ev
}
