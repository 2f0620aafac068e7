package gateway

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/job"
)

// GetJob returns a job the caller owns.
func (s *Service) GetJob(ctx context.Context, owner, id string) (api.Job, error) {
	j, err := s.ownedJob(ctx, owner, id)
	if err != nil {
		return api.Job{}, err
	}
	return s.view(j), nil
}

// ownedJob loads a job and hides other callers' jobs as not found.
func (s *Service) ownedJob(ctx context.Context, owner, id string) (*job.Job, error) {
	j, err := s.cfg.Store.GetJob(ctx, id)
	if err != nil {
		return nil, notFound("job", id, err)
	}
	if owner != "" && j.Owner != owner {
		return nil, fmt.Errorf("job %q: %w", id, ErrNotFound)
	}
	return j, nil
}

// ListJobs returns one page of the caller's jobs, newest first.
func (s *Service) ListJobs(ctx context.Context, owner string, q api.JobQuery) (api.JobList, error) {
	f := job.JobFilter{Owner: owner, Workflow: q.Workflow, Cursor: q.Cursor, Limit: q.Limit}
	for _, st := range q.State {
		f.States = append(f.States, job.State(st))
	}
	jobs, next, err := s.cfg.Store.ListJobs(ctx, f)
	if errors.Is(err, job.ErrInvalid) {
		return api.JobList{}, &InputError{Field: "cursor", Problem: err.Error()}
	}
	if err != nil {
		return api.JobList{}, fmt.Errorf("list jobs: %w", err)
	}
	out := api.JobList{Jobs: make([]api.Job, 0, len(jobs)), NextCursor: next}
	for _, j := range jobs {
		out.Jobs = append(out.Jobs, s.view(j))
	}
	return out, nil
}

// CancelJob cancels a job in any state; a finished job is returned as is.
func (s *Service) CancelJob(ctx context.Context, owner, id string) (api.Job, error) {
	if _, err := s.ownedJob(ctx, owner, id); err != nil {
		return api.Job{}, err
	}
	j, err := s.cfg.Fleet.Cancel(ctx, id)
	if err != nil {
		return api.Job{}, fmt.Errorf("cancel job %s: %w", id, err)
	}
	return s.view(j), nil
}

// WaitJob blocks until the job is terminal or ctx is done, then returns the
// job as it stands.
func (s *Service) WaitJob(ctx context.Context, owner, id string) (api.Job, error) {
	j, err := s.ownedJob(ctx, owner, id)
	if err != nil || j.State.Terminal() {
		return s.viewOrZero(j), err
	}
	sub, err := s.cfg.Hub.Subscribe(ctx, id, events.ID{Seq: j.EventSeq})
	if err == nil {
		for range sub.C() {
		}
		sub.Close()
	}
	// Whatever ended the wait, the store has the truth. Use a fresh context:
	// ctx may be the expired wait deadline.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	j, err = s.ownedJob(rctx, owner, id)
	return s.viewOrZero(j), err
}

func (s *Service) viewOrZero(j *job.Job) api.Job {
	if j == nil {
		return api.Job{}
	}
	return s.view(j)
}

// view renders a job for callers, with its queue position.
func (s *Service) view(j *job.Job) api.Job {
	v := JobView(j)
	if j.State == job.StateQueued || j.State == job.StateRetrying {
		if pos, ok := s.cfg.Fleet.QueuePosition(j.ID); ok {
			v.QueuePosition = &pos
		}
	}
	return v
}

// JobView renders a job as the REST API shows it, without the queue
// position (which needs the fleet): what a webhook message carries.
func JobView(j *job.Job) api.Job {
	v := api.Job{
		ID: j.ID, State: api.JobState(j.State), Workflow: j.Workflow,
		WorkflowVersion: j.WorkflowVersion, Params: j.Params, Priority: j.Priority,
		Attempts: j.Attempts, Backend: j.Backend, CreatedAt: j.CreatedAt,
		DispatchedAt: timePtr(j.DispatchedAt), StartedAt: timePtr(j.StartedAt),
		FinishedAt: timePtr(j.FinishedAt), CancelRequested: j.CancelRequested,
		Outputs: make([]api.Output, 0, len(j.Outputs)),
	}
	switch j.State {
	case job.StateDispatched, job.StateRunning, job.StateSucceeded:
		p := api.Progress(j.Progress)
		if j.State == job.StateSucceeded {
			p.Fraction = 1
		}
		v.Progress = &p
	}
	for _, o := range j.Outputs {
		v.Outputs = append(v.Outputs, outputView(o))
	}
	v.Error = errorView(j)
	return v
}

func outputView(o job.Output) api.Output {
	out := api.Output{ArtifactID: o.ArtifactID, ContentType: o.ContentType, Size: o.Size,
		NodeID: o.NodeID, Kind: o.Kind, Filename: o.Filename, Text: o.Text}
	if o.ArtifactID != "" {
		out.URL = "/v1/artifacts/" + o.ArtifactID
	}
	return out
}

func errorView(j *job.Job) *api.JobError {
	if j.Error == nil {
		return nil
	}
	e := &api.JobError{Type: j.Error.Type, Message: j.Error.Message, NodeID: j.Error.NodeID,
		NodeType: j.Error.NodeType, Traceback: j.Error.Traceback}
	for _, a := range j.AttemptLog {
		if a.Error != "" {
			e.Attempts = append(e.Attempts, api.AttemptError{Backend: a.Backend, Message: a.Error})
		}
	}
	return e
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
