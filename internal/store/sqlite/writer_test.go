package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/comfygate/comfygate/internal/job"
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
	w := newWriter(conn, len(batch), "FULL")
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

// A batch whose every op defers its sync commits at synchronous=NORMAL; any
// ordinary op in a batch, or the next ordinary batch, commits at the
// store's level again.
func TestDeferredBatchesSkipTheSync(t *testing.T) {
	db := openWriteDB(t)
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	w := newWriter(conn, 8, "FULL")
	defer w.close()
	deferred := job.DeferSync(context.Background())
	probe := func(ctx context.Context, got *int) *op {
		return &op{ctx: ctx, fn: func(ctx context.Context, q sqlstore.Querier) error {
			return q.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(got)
		}}
	}
	const normal, full = 1, 2
	for _, c := range []struct {
		name  string
		ctxs  []context.Context
		level int
	}{
		{"deferred alone", []context.Context{deferred}, normal},
		{"ordinary after deferred", []context.Context{context.Background()}, full},
		{"deferred together", []context.Context{deferred, deferred}, normal},
		{"mixed", []context.Context{deferred, context.Background(), deferred}, full},
	} {
		levels := make([]int, len(c.ctxs))
		batch := make([]*op, len(c.ctxs))
		for i, ctx := range c.ctxs {
			batch[i] = probe(ctx, &levels[i])
		}
		for i, err := range w.run(batch) {
			if err != nil {
				t.Fatalf("%s: op %d: %v", c.name, i, err)
			}
		}
		for i, got := range levels {
			if got != c.level {
				t.Errorf("%s: op %d committed at synchronous=%d, want %d", c.name, i, got, c.level)
			}
		}
	}
}

// A store that runs at NORMAL already has nothing to defer.
func TestDeferredAtNormalStaysNormal(t *testing.T) {
	w := &writer{level: "NORMAL", current: "NORMAL"}
	if got := w.levelFor([]*op{{ctx: job.DeferSync(context.Background())}, {ctx: context.Background()}}); got != "NORMAL" {
		t.Errorf("level = %s, want NORMAL", got)
	}
	w.level, w.current = "EXTRA", "EXTRA"
	if got := w.levelFor([]*op{{ctx: context.Background()}}); got != "EXTRA" {
		t.Errorf("ordinary op at EXTRA: level = %s, want EXTRA", got)
	}
}
