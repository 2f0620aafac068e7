package sqlstore

import (
	"context"
	"fmt"

	"github.com/comfygate/comfygate/internal/job"
)

// CreateJobThenUpdate implements job.Store. fn is applied in memory before
// the transaction, so the row is inserted once, already in the state fn
// left it: no UPDATE and no read of the new row. The job as created is
// kept beside it for the first event's webhook message and the caller.
func (s *Store) CreateJobThenUpdate(ctx context.Context, in *job.Job, e *job.Event, fn func(*job.Job) (*job.Event, error)) (job.Creation, error) {
	if s.closed.Load() {
		return job.Creation{}, job.ErrClosed
	}
	created, err := s.newJobRow(in, true)
	if err == nil && e == nil {
		err = fmt.Errorf("%w: the first event is nil", job.ErrInvalid)
	}
	if err == nil {
		err = checkEvent(e)
	}
	if err != nil {
		return job.Creation{}, fmt.Errorf("create job: %w", err)
	}
	updated, next, err := s.applyToNew(created, fn)
	if err != nil {
		return job.Creation{}, err
	}
	var (
		c      job.Creation
		queued int
	)
	err = s.write.InTx(ctx, func(ctx context.Context, q Querier) error {
		var err error
		c, queued = job.Creation{}, 0
		queued, err = s.insertCreation(ctx, q, &c, created, updated, *e, next)
		return err
	})
	if err != nil {
		return job.Creation{}, s.fail("create job "+created.j.ID, err)
	}
	if !c.Replayed {
		s.keepGraph(updated.ownGraphEntry(), c.Updated)
	}
	s.signalQueued(queued)
	return c, nil
}

// applyToNew runs fn on the job created would store and returns the row
// to insert in its place, and fn's event. fn's errors are returned as
// they are; the rules of UpdateJob apply to its changes.
func (s *Store) applyToNew(created *jobRow, fn func(*job.Job) (*job.Event, error)) (*jobRow, *job.Event, error) {
	before, err := created.stored()
	if err != nil {
		return nil, nil, err
	}
	cur := *before
	ev, err := fn(&cur)
	if err != nil {
		return nil, nil, err
	}
	if cur.State != before.State && !job.CanTransition(before.State, cur.State) {
		return nil, nil, &job.TransitionError{JobID: before.ID, From: before.State, To: cur.State}
	}
	cur.ID, cur.Seq, cur.EventSeq, cur.CreatedAt = before.ID, 0, before.EventSeq, before.CreatedAt
	cur.Owner, cur.IdempotencyKey, cur.RequestHash = before.Owner, before.IdempotencyKey, before.RequestHash
	cur.UpdatedAt = s.now()
	if ev != nil {
		if err := checkEvent(ev); err != nil {
			return nil, nil, fmt.Errorf("create job %s: %w", before.ID, err)
		}
		cur.EventSeq++
	}
	r, err := encodeJob(&cur, before)
	if err != nil {
		return nil, nil, fmt.Errorf("create job %s: %w", before.ID, err)
	}
	r.graphRev = created.graphRev
	return r, ev, nil
}

// insertCreation inserts updated (or finds the job it replays) and, for a
// new job, both events and their webhook messages, each message showing
// the job as its event left it. It fills c and returns how many messages
// it queued.
func (s *Store) insertCreation(ctx context.Context, q Querier, c *job.Creation, created, updated *jobRow, first job.Event, next *job.Event) (int, error) {
	out, replayed, err := s.insertJob(ctx, q, updated)
	if err != nil || replayed {
		c.Created, c.Replayed = out, replayed
		return 0, err
	}
	c.Updated = out
	created.j.Seq = out.Seq
	if c.Created, err = created.stored(); err != nil {
		return 0, err
	}
	// Created and Updated are the caller's to change: not one graph.
	c.Created.Params, c.Created.Graph, c.Created.ExtraData = clone(c.Created.Params), clone(c.Created.Graph), clone(c.Created.ExtraData)
	c.Created.Comfy, c.Created.ComfyHistory = clone(c.Created.Comfy), clone(c.Created.ComfyHistory)
	if c.First, err = s.insertEvent(ctx, q, out.ID, 1, first); err != nil {
		return 0, err
	}
	queued, err := s.queueWebhooks(ctx, q, c.Created, []job.Event{*c.First})
	if err != nil || next == nil {
		return queued, err
	}
	if c.Next, err = s.insertEvent(ctx, q, out.ID, 2, *next); err != nil {
		return queued, err
	}
	n, err := s.queueWebhooks(ctx, q, out, []job.Event{*c.Next})
	return queued + n, err
}
