package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/comfygate/comfygate/internal/job"
)

// CreateJob implements job.Store.
func (s *Store) CreateJob(ctx context.Context, in *job.Job) (*job.Job, bool, error) {
	j, replayed, _, err := s.CreateJobWithEvent(ctx, in, nil)
	return j, replayed, err
}

// CreateJobWithEvent implements job.Store: the insert and the first event
// share one transaction, so a submission costs one commit (one fsync).
func (s *Store) CreateJobWithEvent(ctx context.Context, in *job.Job, e *job.Event) (*job.Job, bool, *job.Event, error) {
	if s.closed.Load() {
		return nil, false, nil, job.ErrClosed
	}
	r, err := s.newJobRow(in, e != nil)
	if err == nil && e != nil {
		err = checkEvent(e)
	}
	if err != nil {
		return nil, false, nil, fmt.Errorf("create job: %w", err)
	}
	var (
		out      *job.Job
		replayed bool
		ev       *job.Event
		queued   int
	)
	err = s.write.InTx(ctx, func(ctx context.Context, q Querier) error {
		var err error
		ev, queued = nil, 0
		if out, replayed, err = s.insertJob(ctx, q, r); err != nil || replayed || e == nil {
			return err
		}
		if ev, err = s.insertEvent(ctx, q, out.ID, 1, *e); err != nil {
			return err
		}
		queued, err = s.queueWebhooks(ctx, q, out, []job.Event{*ev})
		return err
	})
	if err != nil {
		return nil, false, nil, s.fail("create job "+r.j.ID, err)
	}
	if !replayed {
		s.keepGraph(r.ownGraphEntry(), out)
	}
	s.signalQueued(queued)
	return out, replayed, ev, nil
}

// newJobRow applies CreateJob's defaults to a copy of in; withEvent counts
// the first event in EventSeq.
func (s *Store) newJobRow(in *job.Job, withEvent bool) (*jobRow, error) {
	j := *in
	if j.ID == "" {
		j.ID = uuid.NewString()
	}
	if j.State == "" {
		j.State = job.StateQueued
	}
	if j.CreatedAt.IsZero() {
		j.CreatedAt = s.now()
	}
	j.Seq, j.EventSeq = 0, 0
	if withEvent {
		j.EventSeq = 1
	}
	j.UpdatedAt = j.CreatedAt
	r, err := encodeJob(&j, nil)
	if err != nil {
		return nil, err
	}
	r.graphRev = newGraphRev()
	return r, nil
}

// insertJob inserts r, or resolves the unique key it collided with.
func (s *Store) insertJob(ctx context.Context, q Querier, r *jobRow) (*job.Job, bool, error) {
	err := q.QueryRowContext(ctx, s.sql(insertJobSQL), s.insertArgs(r)...).Scan(&r.j.Seq)
	if err == nil {
		return s.insertGraph(ctx, q, r)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, false, err
	}
	// ON CONFLICT DO NOTHING: the ID or (owner, idempotency key) exists.
	if r.j.IdempotencyKey != "" {
		prev, err := scanJob(q.QueryRowContext(ctx,
			s.sql(`SELECT `+jobCols+fromJobs+` WHERE owner = ? AND idempotency_key = ?`),
			r.j.Owner, r.j.IdempotencyKey))
		switch {
		case err == nil && prev.RequestHash == r.j.RequestHash:
			return prev, true, nil
		case err == nil:
			return nil, false, &job.IdempotencyMismatchError{Key: r.j.IdempotencyKey, JobID: prev.ID}
		case !errors.Is(err, sql.ErrNoRows):
			return nil, false, err
		}
	}
	return nil, false, job.ErrDuplicateID
}

// insertGraph stores the graph row of the job r, just inserted, in the
// same transaction: a job is never stored without its graph.
func (s *Store) insertGraph(ctx context.Context, q Querier, r *jobRow) (*job.Job, bool, error) {
	if r.hasGraph() {
		if err := s.putGraph(ctx, q, r); err != nil {
			return nil, false, err
		}
	}
	j, err := r.stored()
	return j, false, err
}

// JobOwner implements job.Store.
func (s *Store) JobOwner(ctx context.Context, id string) (string, error) {
	if s.closed.Load() {
		return "", job.ErrClosed
	}
	var owner string
	err := s.read.QueryRowContext(ctx, s.sql(`SELECT owner FROM jobs WHERE id = ?`), id).Scan(&owner)
	if errors.Is(err, sql.ErrNoRows) {
		err = job.ErrNotFound
	}
	if err != nil {
		return "", s.fail("get owner of job "+id, err)
	}
	return owner, nil
}

// JobUpdatedAt implements job.Store.
func (s *Store) JobUpdatedAt(ctx context.Context, id string) (time.Time, error) {
	if s.closed.Load() {
		return time.Time{}, job.ErrClosed
	}
	var at time.Time
	err := s.read.QueryRowContext(ctx, s.sql(`SELECT updated_at FROM jobs WHERE id = ?`), id).Scan(timeCol{&at})
	if errors.Is(err, sql.ErrNoRows) {
		err = job.ErrNotFound
	}
	if err != nil {
		return time.Time{}, s.fail("get update time of job "+id, err)
	}
	return at, nil
}

// GetJob implements job.Store.
func (s *Store) GetJob(ctx context.Context, id string) (*job.Job, error) {
	if s.closed.Load() {
		return nil, job.ErrClosed
	}
	j, err := scanJob(s.read.QueryRowContext(ctx, s.sql(`SELECT `+jobCols+fromJobs+` WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		err = job.ErrNotFound
	}
	if err != nil {
		return nil, s.fail("get job "+id, err)
	}
	return j, nil
}

// UpdateJob implements job.Store.
func (s *Store) UpdateJob(ctx context.Context, id string, fn func(*job.Job) error) (*job.Job, error) {
	j, _, _, err := s.update(ctx, id, func(j *job.Job) ([]job.Event, error) { return nil, fn(j) }, nil, nil)
	return j, err
}

// UpdateJobWithEvent implements job.Store.
func (s *Store) UpdateJobWithEvent(ctx context.Context, id string, fn func(*job.Job) (*job.Event, error)) (*job.Job, *job.Event, error) {
	j, evs, _, err := s.update(ctx, id, func(j *job.Job) ([]job.Event, error) {
		e, err := fn(j)
		if e == nil || err != nil {
			return nil, err
		}
		return []job.Event{*e}, nil
	}, nil, nil)
	if len(evs) == 0 {
		return j, nil, err
	}
	return j, &evs[0], err
}

// UpdateJobWithEvents implements job.Store.
func (s *Store) UpdateJobWithEvents(ctx context.Context, id string, fn func(*job.Job) ([]job.Event, error), arts ...*job.Artifact) (*job.Job, []job.Event, error) {
	for _, a := range arts {
		if err := checkArtifact(a); err != nil {
			return nil, nil, fmt.Errorf("update job %s: %w", id, err)
		}
	}
	j, evs, _, err := s.update(ctx, id, fn, nil, arts)
	return j, evs, err
}

// fnError marks an error returned by the caller's fn, which must reach the
// caller unwrapped.
type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }

// update runs fn on job id and stores the result, its events, arts and
// names in one transaction; names already taken are returned, not stored.
func (s *Store) update(ctx context.Context, id string, fn func(*job.Job) ([]job.Event, error), names []*job.ComfyFile, arts []*job.Artifact) (*job.Job, []job.Event, []*job.ComfyFile, error) {
	if s.closed.Load() {
		return nil, nil, nil, job.ErrClosed
	}
	var (
		out    *job.Job
		evs    []job.Event
		taken  []*job.ComfyFile
		kept   *graphEntry
		queued int
	)
	err := s.write.InTx(ctx, func(ctx context.Context, q Querier) error {
		var err error
		queued, taken = 0, nil // a batch may run this again
		if out, evs, kept, err = s.updateTx(ctx, q, id, fn); err != nil {
			return err
		}
		for _, a := range arts {
			if err := s.insertArtifact(ctx, q, a); err != nil {
				return err
			}
		}
		if taken, err = s.insertComfyFiles(ctx, q, names); err != nil {
			return err
		}
		queued, err = s.queueWebhooks(ctx, q, out, evs)
		return err
	})
	var fe fnError
	if errors.As(err, &fe) {
		return nil, nil, nil, fe.err
	}
	if err != nil {
		return nil, nil, nil, s.fail("update job "+id, err)
	}
	s.keepGraph(kept, out)
	s.signalQueued(queued)
	return out, evs, taken, nil
}

// updateTx is one update in transaction q. Besides the job and its events
// it returns the job's graph row as it now stands, for the cache once
// committed, unless the cache holds it already.
func (s *Store) updateTx(ctx context.Context, q Querier, id string, fn func(*job.Job) ([]job.Event, error)) (*job.Job, []job.Event, *graphEntry, error) {
	row, cached, err := s.lockJobRow(ctx, q, id)
	if err != nil {
		return nil, nil, nil, err
	}
	old := *row // column form as stored; row.j is handed to fn below
	cur, err := row.decode()
	if err != nil {
		return nil, nil, nil, err
	}
	before := *cur
	old.j = before
	evs, err := fn(cur)
	if err != nil {
		return nil, nil, nil, fnError{err}
	}
	if cur.State != before.State && !job.CanTransition(before.State, cur.State) {
		return nil, nil, nil, &job.TransitionError{JobID: id, From: before.State, To: cur.State}
	}
	// Identity and store-owned fields are not the caller's to change.
	cur.ID, cur.Seq, cur.EventSeq, cur.CreatedAt = before.ID, before.Seq, before.EventSeq, before.CreatedAt
	cur.Owner, cur.IdempotencyKey, cur.RequestHash = before.Owner, before.IdempotencyKey, before.RequestHash
	cur.UpdatedAt = s.now()
	cur.EventSeq += int64(len(evs))
	r, err := encodeJob(cur, &before)
	if err != nil {
		return nil, nil, nil, err
	}
	r.graphRev = old.graphRev
	graphChanged := !sameGraph(&old, r)
	if graphChanged {
		r.graphRev = newGraphRev() // in the jobs row's UPDATE: other replicas' caches miss
	}
	query, args := s.updateStmt(&old, r)
	if _, err := q.ExecContext(ctx, s.sql(query), args...); err != nil {
		return nil, nil, nil, err
	}
	if graphChanged {
		if err := s.putGraph(ctx, q, r); err != nil {
			return nil, nil, nil, err
		}
	}
	var stored []job.Event
	for i, e := range evs {
		ev, err := s.insertEvent(ctx, q, id, before.EventSeq+int64(i)+1, e)
		if err != nil {
			return nil, nil, nil, err
		}
		stored = append(stored, *ev)
	}
	out, err := r.stored()
	if err != nil {
		return nil, nil, nil, err
	}
	freshGraph(out) // r's slices are the cache's
	if cached && !graphChanged {
		return out, stored, nil, nil
	}
	return out, stored, r.graphEntry(), nil
}
