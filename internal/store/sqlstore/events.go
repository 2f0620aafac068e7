package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/comfygate/comfygate/internal/job"
)

// AppendEvent implements job.Store. The job row's event_seq is the counter:
// incrementing it takes the row's write lock, so concurrent appends are
// numbered one after another without gaps.
func (s *Store) AppendEvent(ctx context.Context, jobID string, e job.Event) (job.Event, error) {
	if s.closed.Load() {
		return job.Event{}, job.ErrClosed
	}
	if err := checkEvent(&e); err != nil {
		return job.Event{}, fmt.Errorf("append event to job %s: %w", jobID, err)
	}
	var (
		out    *job.Event
		queued int
	)
	err := s.write.InTx(ctx, func(ctx context.Context, q Querier) error {
		var seq int64
		queued = 0
		err := q.QueryRowContext(ctx, s.sql(`UPDATE jobs SET event_seq = event_seq + 1 WHERE id = ? RETURNING event_seq`), jobID).Scan(&seq)
		if errors.Is(err, sql.ErrNoRows) {
			return job.ErrNotFound
		}
		if err != nil {
			return err
		}
		if out, err = s.insertEvent(ctx, q, jobID, seq, e); err != nil {
			return err
		}
		queued, err = s.queueEventWebhook(ctx, q, *out)
		return err
	})
	if err != nil {
		return job.Event{}, s.fail("append event to job "+jobID, err)
	}
	s.signalQueued(queued)
	return *out, nil
}

func checkEvent(e *job.Event) error {
	if e.Type == "" {
		return fmt.Errorf("%w: event type is empty", job.ErrInvalid)
	}
	if len(e.Data) > 0 && !json.Valid(e.Data) {
		return fmt.Errorf("%w: event data is not valid JSON", job.ErrInvalid)
	}
	return nil
}

// insertEvent stores e as event seq of jobID and returns it as stored.
func (s *Store) insertEvent(ctx context.Context, q Querier, jobID string, seq int64, e job.Event) (*job.Event, error) {
	if err := checkEvent(&e); err != nil {
		return nil, err
	}
	e.JobID, e.Seq, e.Data = jobID, seq, raw(clone(e.Data))
	e.Time = norm(e.Time)
	if e.Time.IsZero() {
		e.Time = s.clock()
	}
	_, err := q.ExecContext(ctx, s.sql(`INSERT INTO job_events (job_id, seq, type, data, time) VALUES (?, ?, ?, ?, ?)`),
		jobID, seq, e.Type, jsonArg(e.Data), s.timeArg(e.Time))
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// ListEvents implements job.Store.
func (s *Store) ListEvents(ctx context.Context, jobID string, afterSeq int64, limit int) ([]job.Event, error) {
	if s.closed.Load() {
		return nil, job.ErrClosed
	}
	events, err := s.listEvents(ctx, jobID, afterSeq, job.EventLimit(limit))
	if err == nil && len(events) == 0 {
		err = s.jobExists(ctx, jobID)
	}
	if err != nil {
		return nil, s.fail("list events of job "+jobID, err)
	}
	return events, nil
}

func (s *Store) listEvents(ctx context.Context, jobID string, afterSeq int64, limit int) ([]job.Event, error) {
	rows, err := s.read.QueryContext(ctx,
		s.sql(`SELECT job_id, seq, type, data, time FROM job_events WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?`),
		jobID, afterSeq, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var events []job.Event
	for rows.Next() {
		var (
			e    job.Event
			data []byte
		)
		if err := rows.Scan(&e.JobID, &e.Seq, &e.Type, &data, timeCol{&e.Time}); err != nil {
			return nil, err
		}
		e.Data = raw(data)
		events = append(events, e)
	}
	return events, rows.Err()
}

func (s *Store) jobExists(ctx context.Context, id string) error {
	var one int
	err := s.read.QueryRowContext(ctx, s.sql(`SELECT 1 FROM jobs WHERE id = ?`), id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return job.ErrNotFound
	}
	return err
}
