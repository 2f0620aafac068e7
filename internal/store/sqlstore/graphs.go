package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"math/rand/v2"

	"github.com/comfygate/comfygate/internal/job"
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
// (job.JobFilter.Lean) read the jobs row alone; an update locks the jobs
// row alone and takes the graph row from the cache (graphCache) when it
// holds the revision the jobs row names (graph_rev), or reads it.

// lockedCols are jobCols without the graph row: what an update locks.
var lockedCols = leanColumns(jobCols, "g.params", "g.graph", "g.extra_data")

// lockJobQuery reads and locks the jobs row an update changes.
func lockJobQuery(d Dialect) string {
	return `SELECT ` + lockedCols + ` FROM jobs WHERE id = ?` + d.ForUpdate
}

// jobsFrom is the FROM clause of a read of jobCols: the jobs row, through
// the given index clause ("" for none), and its graph row if it has one.
func jobsFrom(indexed string) string {
	return ` FROM jobs` + indexed + joinGraphs
}

// fromJobs is jobsFrom(""), a constant so that queries built on it are too.
const fromJobs = ` FROM jobs` + joinGraphs

const joinGraphs = ` LEFT JOIN job_graphs g ON g.job_seq = jobs.seq`

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

// lockJobRow reads and locks the jobs row of id for an update, with its
// graph row from the cache (cached) or the database.
func (s *Store) lockJobRow(ctx context.Context, q Querier, id string) (row *jobRow, cached bool, err error) {
	row, err = scanJobRow(q.QueryRowContext(ctx, s.sql(s.lockJobSQL), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, job.ErrNotFound
	}
	if err != nil {
		return nil, false, err
	}
	if e, ok := s.graphs.get(row.j.Seq, row.graphRev); ok {
		row.params, row.graph, row.extraData = e.params, e.graph, e.extraData
		return row, true, nil
	}
	err = q.QueryRowContext(ctx, s.sql(`SELECT params, graph, extra_data FROM job_graphs WHERE job_seq = ?`), row.j.Seq).
		Scan(&row.params, &row.graph, &row.extraData)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, false, err
	}
	return row, false, nil
}

// newGraphRev returns the graph_rev of a new graph row: a random number,
// not a count, so that a revision lost with its commit (a deferred sync
// that a crash of the database rolled back, with the job's seq perhaps
// handed out again) is not issued again for other bytes while a replica
// still keeps the lost ones. 0 is the revision of rows that migration 8
// moved, which no store kept before it ran.
func newGraphRev() int64 {
	for {
		if rev := rand.Int64(); rev != 0 {
			return rev
		}
	}
}

// graphEntry is r's graph row for the cache.
func (r *jobRow) graphEntry() *graphEntry {
	return &graphEntry{seq: r.j.Seq, rev: r.graphRev, params: r.params, graph: r.graph, extraData: r.extraData}
}

// ownGraphEntry is graphEntry in bytes of its own: the job a create
// returns shares r's.
func (r *jobRow) ownGraphEntry() *graphEntry {
	e := r.graphEntry()
	e.params, e.graph, e.extraData = clone(e.params), clone(e.graph), clone(e.extraData)
	return e
}

// keepGraph caches e (nil: the cache holds it already) once its
// transaction committed, while job j may still be updated: a finished
// job's graph leaves the cache.
func (s *Store) keepGraph(e *graphEntry, j *job.Job) {
	switch {
	case j.State.Terminal():
		s.graphs.drop(j.Seq)
	case e != nil:
		s.graphs.put(e)
	}
}

// freshGraph gives j copies of its graph, params and extra_data, whose
// bytes the cache keeps: a caller may modify what the store returns.
func freshGraph(j *job.Job) {
	j.Params, j.Graph, j.ExtraData = clone(j.Params), clone(j.Graph), clone(j.ExtraData)
}
