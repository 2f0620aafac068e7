package postgres_test

import (
	"context"
	"database/sql"
	"os"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/comfygate/comfygate/internal/store/storetest"
)

// rawDB connects to dsn beside the store, closed when t ends.
func rawDB(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestMigrateJobGraphs upgrades a database with jobs in it past migration
// 8: every job keeps its graph, params and extra_data byte for byte, and
// jobs without any get no row. Migrating down puts them back in the jobs
// row.
func TestMigrateJobGraphs(t *testing.T) {
	ctx := context.Background()
	dsn := pg.NewDSN(t, pgErr)
	db := rawDB(t, dsn)
	p, err := goose.NewProvider(goose.DialectPostgres, db, os.DirFS("migrations"),
		goose.WithDisableGlobalRegistry(true), goose.WithTableName("schema_migrations"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 7); err != nil {
		t.Fatal(err)
	}
	for _, j := range storetest.PreGraphJobs {
		_, err := db.ExecContext(ctx, `INSERT INTO jobs (id, state, created_at, updated_at, params, graph, extra_data)
			VALUES ($1, 'queued', now(), now(), $2, $3, $4)`, j.ID, j.Params, j.Graph, j.ExtraData)
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO job_events (job_id, seq, type, time) VALUES ('with-all', 1, 'queued', now())`); err != nil {
		t.Fatal(err)
	}

	s := open(t, dsn)
	storetest.MigratedGraphs(t, s, db)

	if _, err := p.DownTo(ctx, 7); err != nil {
		t.Fatal(err)
	}
	storetest.GraphsBackInJobsRow(t, db, `SELECT params, graph, extra_data FROM jobs WHERE id = $1`)
}

func TestDeletedJobsLeaveNoGraphRows(t *testing.T) {
	dsn := pg.NewDSN(t, pgErr)
	db := rawDB(t, dsn)
	storetest.DeletedJobsLeaveNoGraphRows(t, open(t, dsn), func(t *testing.T) (rows, orphans int) {
		t.Helper()
		err := db.QueryRowContext(t.Context(), `SELECT count(*),
			count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE seq = job_seq)) FROM job_graphs`).Scan(&rows, &orphans)
		if err != nil {
			t.Fatal(err)
		}
		return rows, orphans
	})
}

// TestCreateStoresJobAndGraphTogether makes the graph's insert fail after
// the job's: nothing of the job may remain, as after a crash between the
// two.
func TestCreateStoresJobAndGraphTogether(t *testing.T) {
	dsn := pg.NewDSN(t, pgErr)
	s := open(t, dsn)
	db := rawDB(t, dsn)
	for _, q := range []string{
		`CREATE FUNCTION fail_injected() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$`,
		`CREATE TRIGGER job_graphs_fail BEFORE INSERT ON job_graphs FOR EACH ROW EXECUTE FUNCTION fail_injected()`,
	} {
		if _, err := db.ExecContext(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	storetest.CreateFailsWhole(t, s, db)
}

// TestGraphReplacedByAnotherReplica: a replica notices another's change
// of a graph it keeps.
func TestGraphReplacedByAnotherReplica(t *testing.T) {
	dsn := pg.NewDSN(t, pgErr)
	storetest.GraphReplacedElsewhere(t, open(t, dsn), open(t, dsn))
}
