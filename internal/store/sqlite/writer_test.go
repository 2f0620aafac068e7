package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/comfygate/comfygate/internal/store/sqlstore"
)

// openWriteDB opens the write connection of a new database, closed when
// the test ends.
func openWriteDB(t *testing.T) *sql.DB {
	t.Helper()
	cfg, err := Config{Path: filepath.Join(t.TempDir(), "w.db")}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	db, err := openDB(cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestWriterIsolatesOpsInABatch runs one group commit by hand: a failing or
// panicking op must roll back alone while its neighbours commit.
func TestWriterIsolatesOpsInABatch(t *testing.T) {
	db := openWriteDB(t)
	if err := migrate(t.Context(), db, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	insert := func(name string, then error, panics bool) *op {
		return &op{ctx: context.Background(),
			fn: func(ctx context.Context, q sqlstore.Querier) error {
				_, err := q.ExecContext(ctx, `INSERT INTO probe (name) VALUES (?)`, name)
				if err != nil {
					return err
				}
				if panics {
					panic("boom")
				}
				return then
			}}
	}
	if _, err := db.Exec(`CREATE TABLE probe (name TEXT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	errFail := errors.New("fail")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	skipped := insert("skipped", nil, false)
	skipped.ctx = cancelled
	batch := []*op{
		insert("a", nil, false),
		insert("b", errFail, false),
		insert("c", nil, true),
		insert("a", nil, false), // duplicate key: fails alone
		skipped,
		insert("d", nil, false),
	}
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	w := newWriter(conn, len(batch))
	results := w.run(batch)
	defer w.close()

	if results[0] != nil || results[5] != nil {
		t.Errorf("healthy ops failed: %v, %v", results[0], results[5])
	}
	if !errors.Is(results[1], errFail) || results[2] == nil || results[3] == nil || !errors.Is(results[4], context.Canceled) {
		t.Errorf("failing ops: %v", results)
	}
	rows, err := conn.QueryContext(t.Context(), `SELECT name FROM probe ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	if got := len(names); got != 2 || names[0] != "a" || names[1] != "d" {
		t.Errorf("committed rows = %v, want [a d]", names)
	}
}

// The write connection keeps temporary data, the savepoints' sub-journal
// among it, in memory: on disk a group commit past 64 KiB of undo pages
// would create, write and delete a temporary file per commit.
func TestWriteConnectionKeepsTempInMemory(t *testing.T) {
	db := openWriteDB(t)
	var store int
	if err := db.QueryRowContext(t.Context(), `PRAGMA temp_store`).Scan(&store); err != nil {
		t.Fatal(err)
	}
	if store != 2 {
		t.Errorf("temp_store = %d, want 2 (MEMORY)", store)
	}
}
