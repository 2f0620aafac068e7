package sqlite_test

import (
	"context"
	"database/sql"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/comfygate/comfygate/internal/store/sqlite"
	"github.com/comfygate/comfygate/internal/store/storetest"
)

// rawDB opens path beside the store, closed when t ends.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=foreign_keys(1)&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func migrations(t *testing.T, db *sql.DB) *goose.Provider {
	t.Helper()
	p, err := goose.NewProvider(goose.DialectSQLite3, db, os.DirFS("migrations"),
		goose.WithDisableGlobalRegistry(true), goose.WithTableName("schema_migrations"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func insertOldJobs(t *testing.T, db *sql.DB) {
	t.Helper()
	for _, j := range storetest.PreGraphJobs {
		_, err := db.ExecContext(t.Context(), `INSERT INTO jobs (id, state, created_at, updated_at, params, graph, extra_data)
			VALUES (?, 'queued', 1, 1, ?, ?, ?)`, j.ID, j.Params, j.Graph, j.ExtraData)
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ExecContext(t.Context(), `INSERT INTO job_events (job_id, seq, type, time) VALUES ('with-all', 1, 'queued', 1)`); err != nil {
		t.Fatal(err)
	}
}

// TestMigrateJobGraphs upgrades a database with jobs in it past migration
// 8: every job keeps its graph, params and extra_data byte for byte, and
// jobs without any get no row. Migrating down puts them back in the jobs
// row.
func TestMigrateJobGraphs(t *testing.T) {
	ctx := context.Background()
	path := tempPath(t)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, path)
	p := migrations(t, db)
	if _, err := p.UpTo(ctx, 7); err != nil {
		t.Fatal(err)
	}
	insertOldJobs(t, db)

	s, err := sqlite.Open(ctx, sqlite.Config{Path: path, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	storetest.MigratedGraphs(t, s, db)
	var graphCols int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info('jobs') WHERE name IN ('params', 'graph', 'extra_data')`).Scan(&graphCols); err != nil || graphCols != 0 {
		t.Errorf("jobs still has %d of the moved columns, %v", graphCols, err)
	}

	if _, err := p.DownTo(ctx, 7); err != nil {
		t.Fatal(err)
	}
	storetest.GraphsBackInJobsRow(t, db, `SELECT params, graph, extra_data FROM jobs WHERE id = ?`)
}

// graphRows counts the graph rows of the database at path.
func graphRows(path string) storetest.GraphRows {
	return func(t *testing.T) (rows, orphans int) {
		t.Helper()
		err := rawDB(t, path).QueryRowContext(t.Context(), `SELECT count(*),
			count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE seq = job_seq)) FROM job_graphs`).Scan(&rows, &orphans)
		if err != nil {
			t.Fatal(err)
		}
		return rows, orphans
	}
}

func TestDeletedJobsLeaveNoGraphRows(t *testing.T) {
	path := tempPath(t)
	storetest.DeletedJobsLeaveNoGraphRows(t, open(t, sqlite.Config{Path: path}), graphRows(path))
}

// TestCreateStoresJobAndGraphTogether makes the graph's insert fail after
// the job's: nothing of the job may remain, as after a crash between the
// two.
func TestCreateStoresJobAndGraphTogether(t *testing.T) {
	path := tempPath(t)
	s := open(t, sqlite.Config{Path: path})
	db := rawDB(t, path)
	if _, err := db.ExecContext(t.Context(), `CREATE TRIGGER job_graphs_fail BEFORE INSERT ON job_graphs
		BEGIN SELECT RAISE(ABORT, 'injected failure'); END`); err != nil {
		t.Fatal(err)
	}
	storetest.CreateFailsWhole(t, s, db)
}

// TestGraphReplacedByAnotherStore opens two stores on one file, as two
// processes could: each notices the other's change of a graph.
func TestGraphReplacedByAnotherStore(t *testing.T) {
	path := tempPath(t)
	a := open(t, sqlite.Config{Path: path})
	storetest.GraphReplacedElsewhere(t, a, open(t, sqlite.Config{Path: path}))
}
