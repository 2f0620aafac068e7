package sqlstore

import (
	"bytes"
	"context"
)

// A job's graph, params and extra_data live in job_graphs, one row per job
// keyed by the job's seq (the store's own key of a job: never reused, and
// SQLite's rowid, so the row needs no index of its own), not in the jobs
// row. They are written once, in the transaction that creates the job, and
// hardly ever again, while the jobs row changes on every transition: kept
// in it, a 64 KiB graph was copied and rewritten with each of them (and on
// PostgreSQL each row version carried it). Deleting a job deletes its row
// (removeJob; the foreign key cascades too).
//
// Reads that return whole jobs join the row back (jobsFrom); lean listings
// (job.JobFilter.Lean) read the jobs row alone.

// jobsFrom is the FROM clause of a read of jobCols: the jobs row, through
// the given index clause ("" for none), and its graph row if it has one.
func jobsFrom(indexed string) string {
	return ` FROM jobs` + indexed + ` LEFT JOIN job_graphs g ON g.job_seq = jobs.seq`
}

// putGraphSQL stores a job's graph row, replacing the one it has.
const putGraphSQL = `INSERT INTO job_graphs (job_seq, params, graph, extra_data) VALUES (?, ?, ?, ?)
 ON CONFLICT (job_seq) DO UPDATE SET params = excluded.params, graph = excluded.graph, extra_data = excluded.extra_data`

// hasGraph reports whether r has anything for job_graphs: a job without
// graph, params and extra_data gets no row.
func (r *jobRow) hasGraph() bool {
	return len(r.params) > 0 || len(r.graph) > 0 || len(r.extraData) > 0
}

// sameGraph reports whether a and b hold the same graph row. An update
// that leaves the three alone (every transition) compares the slices the
// store loaded, so the check costs nothing.
func sameGraph(a, b *jobRow) bool {
	same := func(x, y []byte) bool { return sameSlice(x, y) || bytes.Equal(x, y) }
	return same(a.params, b.params) && same(a.graph, b.graph) && same(a.extraData, b.extraData)
}

// putGraph writes r's graph row (r.j.Seq must be set).
func (s *Store) putGraph(ctx context.Context, q Querier, r *jobRow) error {
	_, err := q.ExecContext(ctx, s.sql(putGraphSQL), r.j.Seq, jsonArg(r.params), jsonArg(r.graph), jsonArg(r.extraData))
	return err
}

// forUpdateOf is the dialect's ForUpdate limited to table's rows:
// PostgreSQL cannot lock the nullable side of an outer join, and only the
// jobs row is the lock's subject.
func (s *Store) forUpdateOf(table string) string {
	if s.d.ForUpdate == "" {
		return ""
	}
	return s.d.ForUpdate + " OF " + table
}
