package gateway

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/job"
)

// JobStatus is a job as the use cases return it: the stored record and,
// while it waits for a backend, its queue position (see the package doc).
type JobStatus struct {
	*job.Job
	// QueuePosition is nil unless the job is queued or retrying.
	QueuePosition *int
}

// JobQuery selects a page of jobs for ListJobs; zero fields do not filter.
type JobQuery struct {
	States   []job.State
	Workflow string
	Cursor   string
	Limit    int
}

// JobPage is one page of ListJobs, newest first, and the cursor of the
// next page ("" after the last).
type JobPage struct {
	Jobs []JobStatus
	Next string
}

// GetJob returns a job the caller owns.
func (s *Service) GetJob(ctx context.Context, owner, id string) (JobStatus, error) {
	j, err := s.ownedJob(ctx, owner, id)
	if err != nil {
		return JobStatus{}, err
	}
	return s.status(ctx, j), nil
}

// ownedJob loads a job the caller may see.
func (s *Service) ownedJob(ctx context.Context, owner, id string) (*job.Job, error) {
	return owned(ctx, "job", id, owner, s.cfg.Store.GetJob, func(j *job.Job) string { return j.Owner })
}

// checkJob is ownedJob for a caller that needs only the answer: it reads
// the job's owner, not the whole job.
func (s *Service) checkJob(ctx context.Context, owner, id string) error {
	_, err := owned(ctx, "job", id, owner, s.cfg.Store.JobOwner, func(o string) string { return o })
	return err
}

// owned is the one owner check of every job a caller names by id: with
// authentication on, another owner's job is not found, so ids cannot be
// probed; with it off (caller "") every job is the caller's. Stored files
// have owners of their own (ownedArtifact).
func owned[T any](ctx context.Context, what, id, caller string, load func(context.Context, string) (T, error), ownerOf func(T) string) (T, error) {
	rec, err := load(ctx, id)
	if err == nil && caller != "" && ownerOf(rec) != caller {
		err = job.ErrNotFound // the same answer as for no record at all
	}
	if err != nil {
		var zero T
		return zero, notFound(what, id, err)
	}
	return rec, nil
}

// status is j as its owner sees it: its record, with the error texts of
// backends shown as the owner may read them (ShownJob), and its queue
// position.
func (s *Service) status(ctx context.Context, j *job.Job) JobStatus {
	return JobStatus{Job: s.ShownJob(j), QueuePosition: s.position(ctx, j)}
}

// pageBytes bounds the job records one page of ListJobs holds: a page
// whose jobs weigh more ends early, with the cursor of its last job, so
// that a page of a thousand jobs with megabyte prompts is not held whole.
const pageBytes = 16 << 20

// ListJobs returns one page of the caller's jobs, newest first: at most
// q.Limit of them, fewer when their records pass pageBytes (Next then
// continues after the last one returned).
func (s *Service) ListJobs(ctx context.Context, owner string, q JobQuery) (JobPage, error) {
	f := job.JobFilter{Owner: owner, States: q.States, Workflow: q.Workflow, Cursor: q.Cursor, Limit: q.Limit, Lean: true}
	lean, next, err := s.cfg.Store.ListJobs(ctx, f)
	if errors.Is(err, job.ErrInvalid) {
		return JobPage{}, &InputError{Field: "cursor", Problem: err.Error()}
	}
	if err != nil {
		return JobPage{}, fmt.Errorf("list jobs: %w", err)
	}
	out := JobPage{Jobs: make([]JobStatus, 0, len(lean)), Next: next}
	size := 0
	for i, l := range lean {
		j, err := s.cfg.Store.GetJob(ctx, l.ID)
		if err != nil {
			return JobPage{}, fmt.Errorf("list jobs: %w", err)
		}
		if size += recordBytes(j); i > 0 && size > pageBytes {
			out.Next = job.PageCursor(f.Order, lean[i-1].Seq)
			break
		}
		out.Jobs = append(out.Jobs, s.status(ctx, j))
	}
	return out, nil
}

// recordBytes estimates the memory of a job record.
func recordBytes(j *job.Job) int {
	return 1024 + len(j.Graph) + len(j.Params) + len(j.ExtraData) + len(j.Comfy) + len(j.ComfyHistory) +
		256*(len(j.Outputs)+len(j.AttemptLog))
}

// CancelJob cancels a job the caller owns, in any state; a finished job is
// returned as is. Every surface cancels through here.
func (s *Service) CancelJob(ctx context.Context, owner, id string) (JobStatus, error) {
	if err := s.checkJob(ctx, owner, id); err != nil {
		return JobStatus{}, err
	}
	j, err := s.cfg.Fleet.Cancel(ctx, id)
	if err != nil {
		return JobStatus{}, fmt.Errorf("cancel job %s: %w", id, err)
	}
	return s.status(ctx, j), nil
}

// WaitJob blocks until the job is terminal or ctx is done, then returns the
// job as it stands.
func (s *Service) WaitJob(ctx context.Context, owner, id string) (JobStatus, error) {
	j, err := s.ownedJob(ctx, owner, id)
	if err != nil {
		return JobStatus{}, err
	}
	if j.State.Terminal() {
		return s.status(ctx, j), nil
	}
	sub, err := s.cfg.Hub.Subscribe(ctx, id, events.ID{Seq: j.EventSeq})
	if err == nil {
		var last events.Event
		for e := range sub.C() {
			last = e
		}
		sub.Close()
		if job.TerminalEvent(last.Type) && last.Job != nil {
			return s.EndedJob(ctx, owner, last)
		}
	}
	// Whatever else ended the wait, the store has the truth. Use a fresh
	// context: ctx may be the expired wait deadline.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return s.GetJob(rctx, owner, id)
}
