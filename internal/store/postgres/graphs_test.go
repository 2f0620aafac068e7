package postgres_test

import (
	"context"
	"database/sql"
	"os"
	"strings"
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

// oldJobs are jobs as the schema before job_graphs (migration 7) kept
// them: graph, params and extra_data in the jobs row.
var oldJobs = []struct {
	id                       string
	params, graph, extraData any // nil is NULL
}{
	{"with-all", `{"seed": 1e3}`, strings.Repeat(" ", 3) + `{"1":{"inputs":{"text":"café — €"}}}` + "\n", `{"client_id":"c"}`},
	{"large", nil, `{"1":{"inputs":{"text":"` + strings.Repeat("word ", 40_000) + `"}}}`, nil},
	{"extra-only", nil, nil, `{"extra_pnginfo":{}}`},
	{"bare", nil, nil, nil},
}

func text(v any) string {
	s, _ := v.(string)
	return s
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
	for _, j := range oldJobs {
		_, err := db.ExecContext(ctx, `INSERT INTO jobs (id, state, created_at, updated_at, params, graph, extra_data)
			VALUES ($1, 'queued', now(), now(), $2, $3, $4)`, j.id, j.params, j.graph, j.extraData)
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO job_events (job_id, seq, type, time) VALUES ('with-all', 1, 'queued', now())`); err != nil {
		t.Fatal(err)
	}

	s := open(t, dsn)
	for _, o := range oldJobs {
		j, err := s.GetJob(ctx, o.id)
		if err != nil {
			t.Fatal(err)
		}
		if string(j.Params) != text(o.params) || string(j.Graph) != text(o.graph) || string(j.ExtraData) != text(o.extraData) {
			t.Errorf("job %s after migrating: params %q, extra_data %q, graph of %d bytes; want them as they were",
				o.id, j.Params, j.ExtraData, len(j.Graph))
		}
	}
	if evs, err := s.ListEvents(ctx, "with-all", 0, 0); err != nil || len(evs) != 1 {
		t.Errorf("events after migrating: %v, %v", evs, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var rows int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM job_graphs`).Scan(&rows); err != nil || rows != 3 {
		t.Errorf("%d graph rows, %v; want 3 (the bare job has none)", rows, err)
	}

	if _, err := p.DownTo(ctx, 7); err != nil {
		t.Fatal(err)
	}
	for _, o := range oldJobs {
		var params, graph, extra sql.NullString
		if err := db.QueryRowContext(ctx, `SELECT params, graph, extra_data FROM jobs WHERE id = $1`, o.id).Scan(&params, &graph, &extra); err != nil {
			t.Fatal(err)
		}
		if params.String != text(o.params) || graph.String != text(o.graph) || extra.String != text(o.extraData) {
			t.Errorf("job %s after migrating down: not as it was", o.id)
		}
	}
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
