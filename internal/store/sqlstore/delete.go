package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/comfygate/comfygate/internal/job"
)

// terminalStates is spelled as in the jobs_finished partial index, so that
// both engines use it.
const terminalStates = `state IN ('succeeded', 'failed', 'cancelled')`

// deletionSQL holds the queries of job deletion that an index must serve.
type deletionSQL struct {
	finishedBefore, blobReferenced string
}

func newDeletionSQL(d Dialect) deletionSQL {
	indexed := func(table, index string) string {
		if d.IndexedBy == nil {
			return " FROM " + table
		}
		return " FROM " + table + d.IndexedBy(index)
	}
	return deletionSQL{
		finishedBefore: `SELECT id` + indexed("jobs", "jobs_finished") + ` WHERE ` + terminalStates +
			` AND finished_at < ? ORDER BY finished_at LIMIT ?`,
		// "artifact_id <> ''" lets SQLite use the partial index.
		blobReferenced: `SELECT EXISTS (SELECT 1 FROM artifacts WHERE id = ?)
 OR EXISTS (SELECT 1` + indexed("comfy_files", "comfy_files_artifact") + ` WHERE artifact_id = ? AND artifact_id <> '')`,
	}
}

// DeleteJob implements job.Store.
func (s *Store) DeleteJob(ctx context.Context, id string, inputs []string) ([]string, error) {
	if s.closed.Load() {
		return nil, job.ErrClosed
	}
	var unreferenced []string
	err := s.write.InTx(ctx, func(ctx context.Context, q Querier) error {
		blobs, err := s.removeJob(ctx, q, id)
		if err != nil {
			return err
		}
		unreferenced, err = s.unreferenced(ctx, q, append(blobs, inputs...))
		return err
	})
	if err != nil {
		return nil, s.fail("delete job "+id, err)
	}
	return unreferenced, nil
}

// removeJob deletes a terminal job and what belongs to it only, and
// returns the blobs its artifact records named.
func (s *Store) removeJob(ctx context.Context, q Querier, id string) ([]string, error) {
	var (
		seq   int64
		state job.State
	)
	err := q.QueryRowContext(ctx, s.sql(`SELECT seq, state FROM jobs WHERE id = ?`+s.d.ForUpdate), id).Scan(&seq, &state)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, job.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if !state.Terminal() {
		return nil, fmt.Errorf("%w: the job is %s, not finished", job.ErrConflict, state)
	}
	blobs, err := s.strings(ctx, q, `SELECT DISTINCT id FROM artifacts WHERE job_id = ?`, id)
	if err != nil {
		return nil, err
	}
	for _, stmt := range []string{
		`DELETE FROM artifacts WHERE job_id = ?`,
		`DELETE FROM comfy_files WHERE job_id = ? AND job_id <> ''`,
		`DELETE FROM job_events WHERE job_id = ?`,
	} {
		if _, err := q.ExecContext(ctx, s.sql(stmt), id); err != nil {
			return nil, err
		}
	}
	// The graph row goes by the job's seq, before the job it refers to.
	if _, err := q.ExecContext(ctx, s.sql(`DELETE FROM job_graphs WHERE job_seq = ?`), seq); err != nil {
		return nil, err
	}
	if _, err := q.ExecContext(ctx, s.sql(`DELETE FROM jobs WHERE id = ?`), id); err != nil {
		return nil, err
	}
	return blobs, nil
}

// unreferenced returns, sorted and once each, the blobs nothing names.
func (s *Store) unreferenced(ctx context.Context, q Querier, blobs []string) ([]string, error) {
	slices.Sort(blobs)
	blobs = slices.Compact(blobs)
	var out []string
	for _, b := range blobs {
		if b == "" {
			continue
		}
		var referenced bool
		if err := q.QueryRowContext(ctx, s.sql(s.deletion.blobReferenced), b, b).Scan(&referenced); err != nil {
			return nil, err
		}
		if !referenced {
			out = append(out, b)
		}
	}
	return out, nil
}

// JobsFinishedBefore implements job.Store.
func (s *Store) JobsFinishedBefore(ctx context.Context, t time.Time, limit int) ([]string, error) {
	if s.closed.Load() {
		return nil, job.ErrClosed
	}
	limit = clampListLimit(limit)
	ids, err := s.strings(ctx, s.read, s.deletion.finishedBefore, s.timeArg(t), limit)
	if err != nil {
		return nil, s.fail("list finished jobs", err)
	}
	return ids, nil
}

func clampListLimit(limit int) int { return job.JobFilter{Limit: limit}.PageLimit() }

// strings runs a query of one text column.
func (s *Store) strings(ctx context.Context, q Querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, s.sql(query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
