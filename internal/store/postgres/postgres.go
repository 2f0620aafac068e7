// Package postgres is the job store for scale-out: several comfygate
// replicas share one PostgreSQL database. It supplies sqlstore with
// PostgreSQL's dialect and plain transactions; claims are made safe across
// replicas by SELECT … FOR UPDATE row locks inside UpdateJob.
//
// Connections come from a pgxpool.Pool, which Pool exposes so that other
// parts share it; sqlstore reaches it through pgx's database/sql adapter,
// whose per-connection statement cache spares re-parsing. The pool's size
// is the DSN's pool_max_conns, or Config.MaxConns. Migrations run with
// goose, under a session advisory lock, so that replicas starting together
// migrate once.
//
// Bus (bus.go) is how the replicas talk: LISTEN/NOTIFY on the same
// database, with a side table for messages larger than a notification.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/internal/store/sqlstore"
)

var _ job.Store = (*Store)(nil)

//go:embed migrations/*.sql
var migrations embed.FS

// Config configures Open.
type Config struct {
	// DSN is a libpq connection string or URL. Required.
	DSN string
	// MaxConns caps the connection pool. Default: pgxpool's (4 or the
	// number of CPUs, whichever is greater).
	MaxConns int32
	// Now is the store's clock. Default time.Now.
	Now func() time.Time
	// Logger receives migration messages. Default slog.Default().
	Logger *slog.Logger
}

// Store is the PostgreSQL job store.
type Store struct {
	*sqlstore.Store
	pool *pgxpool.Pool
	bus  atomic.Pointer[Bus] // the replicas' bus over this store, if any
}

// Ping checks that the database answers and, once a Bus was made over the
// store, that it listens: a replica that cannot hear the others serves
// streams that never move.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.Store.Ping(ctx); err != nil {
		return err
	}
	if b := s.bus.Load(); b != nil {
		return b.Ready()
	}
	return nil
}

// Pool returns the store's connection pool, for LISTEN/NOTIFY and the like.
// It is closed by Close.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Open connects, applies pending migrations (one replica at a time, under
// an advisory lock) and returns the store. Close releases it.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.DSN == "" {
		return nil, errors.New("postgres: DSN is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	pcfg, err := pgxpool.ParseConfig(cfg.DSN)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse DSN: %w", err)
	}
	if cfg.MaxConns > 0 {
		pcfg.MaxConns = cfg.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	closeAll := func() error {
		err := db.Close()
		pool.Close()
		return err
	}
	if err := migrate(ctx, db, cfg.Logger); err != nil {
		return nil, errors.Join(err, closeAll())
	}
	inner, err := sqlstore.New(sqlstore.Config{
		Dialect: sqlstore.Dialect{
			Positional: func(n int) string { return "$" + strconv.Itoa(n) },
			ForUpdate:  " FOR UPDATE",
			SkipLocked: " FOR UPDATE SKIP LOCKED",
			Time:       func(t time.Time) any { return t },
		},
		Read:  db,
		Write: txRunner{db},
		Now:   cfg.Now,
		Close: closeAll,
	})
	if err != nil {
		return nil, errors.Join(err, closeAll())
	}
	return &Store{Store: inner, pool: pool}, nil
}

// migrate applies the embedded migrations with goose. A session advisory
// lock keeps replicas that start together from migrating at once.
func migrate(ctx context.Context, db *sql.DB, log *slog.Logger) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys, goose.WithDisableGlobalRegistry(true),
		goose.WithTableName("schema_migrations"), goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	for _, r := range results {
		log.InfoContext(ctx, "applied migration", "store", "postgres", "version", r.Source.Version, "duration", r.Duration)
	}
	return nil
}

// txRunner runs each write in its own READ COMMITTED transaction. Rows that
// a transaction reads in order to change them are locked with FOR UPDATE
// (sqlstore adds it), which serialises claims of one job across replicas.
// A write whose context defers its sync (job.DeferSync) commits with
// synchronous_commit off: visible to every replica at once, but not waited
// for on disk; the server's WAL is one ordered log, so the next synchronous
// commit, of any session, makes it durable too.
type txRunner struct{ db *sql.DB }

func (r txRunner) InTx(ctx context.Context, fn func(context.Context, sqlstore.Querier) error) error {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit; on the error paths the error that matters is fn's
	if job.SyncDeferred(ctx) {
		if _, err := tx.ExecContext(ctx, `SET LOCAL synchronous_commit TO OFF`); err != nil {
			return fmt.Errorf("defer sync: %w", err)
		}
	}
	if err := fn(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
