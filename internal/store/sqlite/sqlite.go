// Package sqlite is the embedded job store: one SQLite file (pure-Go driver
// modernc.org/sqlite, WAL mode) that makes `comfygate serve` need nothing
// else. It supplies sqlstore with SQLite's dialect and a group-committing
// single writer; the store's semantics live in sqlstore.
//
// Durability: synchronous=FULL by default. A job acknowledged with 2xx must
// survive not only a gateway crash (NORMAL already guarantees that in WAL
// mode: a commit is in the OS page cache) but also a power cut or kernel
// panic, which under NORMAL can roll back the last commits. FULL costs one
// fsync per commit; the writer makes that affordable by committing all
// writes that queue up during one fsync together (group commit), so
// throughput grows with concurrency instead of being capped by the disk's
// fsync rate. Config.Synchronous can trade that guarantee for latency.
// Writes of state that recovery can rebuild (job.DeferSync: a claim, a
// start, progress) do not wait for an fsync of their own: the next ordinary
// commit's fsync covers them (see writer).
//
// Dependencies: modernc.org/sqlite because it needs no cgo (one static
// binary); github.com/pressly/goose/v3 runs the embedded, numbered .sql
// migrations, each in a transaction, through its Provider API (no global
// state), the same way for both engines.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/internal/store/sqlstore"
)

var _ job.Store = (*Store)(nil)

//go:embed migrations/*.sql
var migrations embed.FS

// Config configures Open.
type Config struct {
	// Path is the database file; its directory is created. Required.
	Path string
	// Synchronous is SQLite's synchronous pragma: "FULL" (default; survives
	// power loss) or "NORMAL" (survives process crashes only; faster).
	Synchronous string
	// ReadConns is the size of the read-only connection pool. Default 4.
	ReadConns int
	// BusyTimeout is how long a statement waits for a lock held by another
	// process before failing. Default 5s.
	BusyTimeout time.Duration
	// MaxBatch caps how many writes one group commit holds. Default 128.
	MaxBatch int
	// Now is the store's clock. Default time.Now.
	Now func() time.Time
	// Logger receives migration messages. Default slog.Default().
	Logger *slog.Logger
}

func (c Config) withDefaults() (Config, error) {
	if c.Path == "" || c.Path == ":memory:" || strings.ContainsAny(c.Path, "?#") {
		return c, fmt.Errorf("sqlite: Path %q must name a file (no ?, #, or :memory:)", c.Path)
	}
	c.Synchronous = strings.ToUpper(c.Synchronous)
	switch c.Synchronous {
	case "":
		c.Synchronous = "FULL"
	case "FULL", "NORMAL", "EXTRA":
	default:
		return c, fmt.Errorf("sqlite: Synchronous %q must be FULL, NORMAL or EXTRA", c.Synchronous)
	}
	if c.ReadConns <= 0 {
		c.ReadConns = 4
	}
	if c.BusyTimeout <= 0 {
		c.BusyTimeout = 5 * time.Second
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 128
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

// Store is the SQLite job store.
type Store struct {
	*sqlstore.Store
	path string
}

// Path returns the database file.
func (s *Store) Path() string { return s.path }

// Open opens (creating if needed) the database at cfg.Path, applies pending
// migrations and starts the writer. Close releases it.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: create directory: %w", err)
	}
	wdb, err := openDB(cfg, true)
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, wdb, cfg.Logger); err != nil {
		return nil, errors.Join(err, wdb.Close())
	}
	rdb, err := openDB(cfg, false)
	if err != nil {
		return nil, errors.Join(err, wdb.Close())
	}
	conn, err := wdb.Conn(ctx)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("sqlite: connect: %w", err), rdb.Close(), wdb.Close())
	}
	w := newWriter(conn, cfg.MaxBatch, cfg.Synchronous)
	read := newCached(rdb)
	closeAll := func() error {
		werr := w.close()
		read.close()
		return errors.Join(werr, rdb.Close(), wdb.Close())
	}
	inner, err := sqlstore.New(sqlstore.Config{
		Dialect: sqlstore.Dialect{
			Time:      func(t time.Time) any { return t.UnixMicro() },
			IndexedBy: func(index string) string { return " INDEXED BY " + index },
		},
		Read:  read,
		Write: w,
		Now:   cfg.Now,
		Close: closeAll,
	})
	if err != nil {
		return nil, errors.Join(err, closeAll())
	}
	return &Store{Store: inner, path: cfg.Path}, nil
}

// openDB opens the single write connection or the read-only pool.
func openDB(cfg Config, write bool) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", cfg.BusyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+cfg.Synchronous+")")
	// Under constant reads a checkpoint rarely restarts the WAL from the top;
	// this caps the file left behind once it does.
	q.Add("_pragma", "journal_size_limit(67108864)")
	if write {
		// Each write of a group commit runs in a savepoint, whose undo
		// pages SQLite keeps in a sub-journal; past 64 KiB that spills
		// to a temporary file created, written and deleted per commit.
		// In memory it stays bounded by the batch (MaxBatch writes).
		q.Add("_pragma", "temp_store(2)")
	} else {
		q.Add("_pragma", "query_only(1)")
	}
	db, err := sql.Open("sqlite", cfg.Path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", cfg.Path, err)
	}
	conns := cfg.ReadConns
	if write {
		conns = 1 // SQLite has one writer; a second connection would only wait
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	return db, nil
}

// migrate applies the embedded migrations with goose; each file runs in its
// own transaction.
func migrate(ctx context.Context, db *sql.DB, log *slog.Logger) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("sqlite: migrations: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys,
		goose.WithDisableGlobalRegistry(true), goose.WithTableName("schema_migrations"))
	if err != nil {
		return fmt.Errorf("sqlite: migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	for _, r := range results {
		log.InfoContext(ctx, "applied migration", "store", "sqlite", "version", r.Source.Version, "duration", r.Duration)
	}
	return nil
}
