package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/comfygate/comfygate/internal/job"
)

// The state sets the scheduler reads. They are spelled exactly as in the
// partial indexes of the migrations so that both engines use those indexes.
const (
	dispatchableStates = `state IN ('queued', 'retrying')`
	activeStates       = `state IN ('dispatched', 'running')`
)

// schedulerSQL holds the scheduler's queries. Their cost must not grow with
// the number of finished jobs: gateway start-up runs them. They name the
// partial index that serves them (where the dialect can), since a planner
// without statistics may prefer the plain state index and then sort.
type schedulerSQL struct {
	dispatchOrder, activeJobs, queuePosition, queueKeys string
}

func newSchedulerSQL(d Dialect) schedulerSQL {
	indexed := func(index string) string {
		if d.IndexedBy == nil {
			return ""
		}
		return d.IndexedBy(index)
	}
	from := func(index string) string { return " FROM jobs" + indexed(index) }
	return schedulerSQL{
		dispatchOrder: `SELECT ` + jobCols + jobsFrom(indexed("jobs_dispatch")) + ` WHERE ` + dispatchableStates +
			` ORDER BY priority DESC, seq ASC LIMIT ?`,
		queueKeys: `SELECT priority, seq` + from("jobs_dispatch") + ` WHERE ` + dispatchableStates +
			` ORDER BY priority DESC, seq ASC LIMIT ?`,
		activeJobs: `SELECT ` + jobCols + jobsFrom(indexed("jobs_active")) + ` WHERE ` + activeStates + ` ORDER BY seq`,
		queuePosition: `SELECT j.state,
 (SELECT count(*)` + from("jobs_dispatch") + ` WHERE ` + dispatchableStates + ` AND priority > j.priority) +
 (SELECT count(*)` + from("jobs_dispatch") + ` WHERE ` + dispatchableStates + ` AND priority = j.priority AND seq < j.seq)
 FROM jobs j WHERE j.id = ?`,
	}
}

// IndexedQuery is a query that an index must serve, with example arguments.
type IndexedQuery struct {
	SQL  string // in the engine's placeholders
	Args []any
}

// IndexedQueries returns the scheduler's queries and those of job
// deletion by name, so that engine tests can EXPLAIN them and check that
// no full scan or sort remains.
func (s *Store) IndexedQueries() map[string]IndexedQuery {
	return map[string]IndexedQuery{
		"DispatchOrder":      {s.sql(s.sched.dispatchOrder), []any{100}},
		"ActiveJobs":         {s.sql(s.sched.activeJobs), nil},
		"QueuePosition":      {s.sql(s.sched.queuePosition), []any{"id"}},
		"QueueKeys":          {s.sql(s.sched.queueKeys), []any{100}},
		"JobsFinishedBefore": {s.sql(s.deletion.finishedBefore), []any{s.timeArg(time.Unix(1, 0)), 100}},
		"BlobReferenced":     {s.sql(s.deletion.blobReferenced), []any{"blob", "blob"}},
	}
}

// ListJobs implements job.Store. Pages are keyed by Seq, which never changes
// and is unique, so inserts between pages cannot shift them.
func (s *Store) ListJobs(ctx context.Context, f job.JobFilter) ([]*job.Job, string, error) {
	if s.closed.Load() {
		return nil, "", job.ErrClosed
	}
	query, args, err := s.listQuery(f)
	if err != nil {
		return nil, "", fmt.Errorf("list jobs: %w", err)
	}
	jobs, err := s.queryJobs(ctx, query, args...)
	if err != nil {
		return nil, "", s.fail("list jobs", err)
	}
	var next string
	if limit := f.PageLimit(); len(jobs) > limit {
		jobs = jobs[:limit]
		next = encodeCursor(f.Order, jobs[limit-1].Seq)
	}
	return jobs, next, nil
}

// listQuery builds the SELECT of one page, fetching one extra row to learn
// whether another page follows.
func (s *Store) listQuery(f job.JobFilter) (string, []any, error) {
	var (
		where []string
		args  []any
	)
	add := func(cond string, a ...any) { where = append(where, cond); args = append(args, a...) }
	for _, c := range []struct{ col, v string }{
		{"owner", f.Owner}, {"workflow", f.Workflow}, {"source", f.Source}, {"client_id", f.ClientID},
	} {
		if c.v != "" {
			add(c.col+" = ?", c.v)
		}
	}
	if len(f.States) > 0 {
		marks := make([]string, len(f.States))
		for i, st := range f.States {
			if !st.Valid() {
				return "", nil, fmt.Errorf("%w: filter: unknown state %q", job.ErrInvalid, st)
			}
			marks[i] = "?"
			args = append(args, string(st))
		}
		where = append(where, "state IN ("+strings.Join(marks, ", ")+")")
	}
	if !f.CreatedAfter.IsZero() {
		add("created_at > ?", s.timeArg(f.CreatedAfter))
	}
	dir, cmp := "DESC", "<"
	switch f.Order {
	case job.OrderAsc:
		dir, cmp = "ASC", ">"
	case "", job.OrderDesc:
	default:
		return "", nil, fmt.Errorf("%w: filter: unknown order %q", job.ErrInvalid, f.Order)
	}
	if f.Cursor != "" {
		seq, err := decodeCursor(f.Cursor, f.Order)
		if err != nil {
			return "", nil, err
		}
		add("seq "+cmp+" ?", seq)
	}
	q := `SELECT ` + jobCols + fromJobs
	if f.Lean {
		q = `SELECT ` + leanJobCols + ` FROM jobs`
	}
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY seq " + dir + " LIMIT ?"
	return q, append(args, f.PageLimit()+1), nil
}

func encodeCursor(o job.Order, seq int64) string { return job.PageCursor(o, seq) }

func decodeCursor(c string, o job.Order) (int64, error) { return job.ParseCursor(c, o) }

// queryJobs runs a SELECT of jobCols on the read pool.
func (s *Store) queryJobs(ctx context.Context, query string, args ...any) ([]*job.Job, error) {
	rows, err := s.read.QueryContext(ctx, s.sql(query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var jobs []*job.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, j)
	}
	return jobs, rows.Err()
}

// DispatchOrder implements job.Store.
func (s *Store) DispatchOrder(ctx context.Context, limit int) ([]*job.Job, error) {
	if s.closed.Load() {
		return nil, job.ErrClosed
	}
	jobs, err := s.queryJobs(ctx, s.sched.dispatchOrder, job.JobFilter{Limit: limit}.PageLimit())
	if err != nil {
		return nil, s.fail("dispatch order", err)
	}
	return jobs, nil
}

// QueueKeys implements job.Store.
func (s *Store) QueueKeys(ctx context.Context, limit int) ([]job.QueueKey, error) {
	if s.closed.Load() {
		return nil, job.ErrClosed
	}
	rows, err := s.read.QueryContext(ctx, s.sql(s.sched.queueKeys), job.QueueKeysLimit(limit))
	if err != nil {
		return nil, s.fail("queue keys", err)
	}
	defer rows.Close()
	var keys []job.QueueKey
	for rows.Next() {
		var k job.QueueKey
		if err := rows.Scan(&k.Priority, &k.Seq); err != nil {
			return nil, s.fail("queue keys", err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("queue keys", err)
	}
	return keys, nil
}

// ActiveJobs implements job.Store.
func (s *Store) ActiveJobs(ctx context.Context) ([]*job.Job, error) {
	if s.closed.Load() {
		return nil, job.ErrClosed
	}
	jobs, err := s.queryJobs(ctx, s.sched.activeJobs)
	if err != nil {
		return nil, s.fail("active jobs", err)
	}
	return jobs, nil
}

// QueuePosition implements job.Store. One statement reads the job and counts
// the jobs ahead of it, so both come from one snapshot; each count is a range
// of the dispatch index.
func (s *Store) QueuePosition(ctx context.Context, id string) (int, error) {
	if s.closed.Load() {
		return 0, job.ErrClosed
	}
	var (
		state string
		ahead int
	)
	err := s.read.QueryRowContext(ctx, s.sql(s.sched.queuePosition), id).Scan(&state, &ahead)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, fmt.Errorf("queue position of job %s: %w", id, job.ErrNotFound)
	case err != nil:
		return 0, s.fail("queue position of job "+id, err)
	case !job.State(state).Dispatchable():
		return 0, fmt.Errorf("queue position of job %s: %w: job is %s", id, job.ErrConflict, state)
	}
	return ahead, nil
}

// CountByState implements job.Store.
func (s *Store) CountByState(ctx context.Context) (map[job.State]int, error) {
	if s.closed.Load() {
		return nil, job.ErrClosed
	}
	rows, err := s.read.QueryContext(ctx, `SELECT state, count(*) FROM jobs GROUP BY state`)
	if err != nil {
		return nil, s.fail("count jobs by state", err)
	}
	defer rows.Close()
	counts := make(map[job.State]int)
	for rows.Next() {
		var (
			st string
			n  int
		)
		if err := rows.Scan(&st, &n); err != nil {
			return nil, s.fail("count jobs by state", err)
		}
		counts[job.State(st)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("count jobs by state", err)
	}
	return counts, nil
}
