package postgres_test

import (
	"context"
	"database/sql"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/internal/store/postgres"
	"github.com/comfygate/comfygate/internal/store/sqlstore"
)

// A write whose context defers its sync commits with synchronous_commit
// off; every other write keeps the server's setting.
func TestDeferredWritesCommitAsynchronously(t *testing.T) {
	// The test server runs without synchronous commits; this session
	// turns them on, as a production server has them.
	db, err := sql.Open("pgx", pg.NewDSN(t, pgErr)+"&synchronous_commit=on")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, c := range []struct {
		name string
		ctx  context.Context
		want string
	}{
		{"deferred", job.DeferSync(t.Context()), "off"},
		{"ordinary", t.Context(), "on"},
	} {
		var got string
		err := postgres.WriteTx(c.ctx, db, func(ctx context.Context, q sqlstore.Querier) error {
			return q.QueryRowContext(ctx, `SHOW synchronous_commit`).Scan(&got)
		})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got != c.want {
			t.Errorf("%s: synchronous_commit = %s, want %s", c.name, got, c.want)
		}
	}
}
