package gateway

import (
	"context"

	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/job"
)

// SubscribeJob subscribes to a job the caller owns: its events after
// lastEventID ("" = all), live until its terminal event. A surface renders
// the events in its own wire form; with a terminal event it shows the
// final job from EndedJob.
func (s *Service) SubscribeJob(ctx context.Context, owner, jobID, lastEventID string) (*events.Subscription, error) {
	if err := s.checkJob(ctx, owner, jobID); err != nil {
		return nil, err
	}
	var after events.ID
	if lastEventID != "" {
		var err error
		if after, err = events.ParseID(lastEventID); err != nil {
			return nil, &InputError{Field: "Last-Event-ID", Problem: err.Error()}
		}
	}
	return s.cfg.Hub.Subscribe(ctx, jobID, after)
}

// EndedJob returns the job a terminal event ended, as the caller may see
// it (ShownJob): the copy the event carries when it was delivered live, or
// else the store's (a replayed event, another replica's).
func (s *Service) EndedJob(ctx context.Context, owner string, e events.Event) (JobStatus, error) {
	if j := e.Job; j != nil && j.ID == e.JobID && (owner == "" || j.Owner == owner) {
		return JobStatus{Job: s.ShownJob(j)}, nil
	}
	return s.GetJob(ctx, owner, e.JobID)
}

// SubscribeOwner subscribes to the live events of all of a caller's jobs.
func (s *Service) SubscribeOwner(ctx context.Context, owner string) (*events.Subscription, error) {
	return s.cfg.Hub.SubscribeAll(ctx, owner)
}

// Replayer serves the hub's resumes from the store's durable events.
func Replayer(store job.Store) events.Replayer { return replayer{store} }

type replayer struct{ store job.Store }

func (r replayer) ListEvents(ctx context.Context, jobID string, afterSeq int64, limit int) ([]events.Event, error) {
	list, err := r.store.ListEvents(ctx, jobID, afterSeq, limit)
	if err != nil {
		return nil, err
	}
	out := make([]events.Event, len(list))
	for i, e := range list {
		out[i] = events.FromStore("", e)
	}
	return out, nil
}
