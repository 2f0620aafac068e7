// Package sqlstore implements job.Store once, in SQL that SQLite and
// PostgreSQL both accept. The engine packages (internal/store/sqlite,
// internal/store/postgres) open the database, run their migrations and hand
// over a Dialect and a TxRunner; everything the contract promises — how
// idempotency, claims, event numbering, cursors and workflow versions work —
// lives here, written and tested once.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/comfygate/comfygate/internal/job"
)

var _ job.Store = (*Store)(nil)

// Querier runs statements: *sql.DB, *sql.Tx and *sql.Conn all satisfy it.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// TxRunner runs read-modify-write transactions for the store.
type TxRunner interface {
	// InTx runs fn inside a transaction that holds the engine's write lock
	// (or, on PostgreSQL, row locks fn takes with FOR UPDATE) and commits
	// it when fn returns nil. fn's error is returned unchanged, after
	// rolling back everything fn did. A nil return means committed.
	InTx(ctx context.Context, fn func(ctx context.Context, q Querier) error) error
}

// Dialect holds what differs between the engines' SQL.
type Dialect struct {
	// Positional turns the n-th (1-based) "?" into the engine's
	// placeholder; nil keeps "?".
	Positional func(n int) string
	// ForUpdate is appended to a SELECT that reads a row it will write:
	// " FOR UPDATE" on PostgreSQL, "" on SQLite (whose write transactions
	// already exclude every other writer).
	ForUpdate string
	// SkipLocked ends a locking subquery that claims rows several
	// replicas compete for: " FOR UPDATE SKIP LOCKED" on PostgreSQL, ""
	// on SQLite (one writer at a time).
	SkipLocked string
	// Time encodes a non-zero, UTC, microsecond-precision time as a
	// parameter (SQLite: Unix microseconds; PostgreSQL: time.Time).
	Time func(t time.Time) any
	// IndexedBy, if set, returns the clause that makes a query read the
	// named index (SQLite: " INDEXED BY name"). PostgreSQL's planner picks
	// partial indexes by itself.
	IndexedBy func(index string) string
}

// Config assembles a Store.
type Config struct {
	Dialect Dialect
	// Read serves queries that need no lock (required): a *sql.DB, or a
	// wrapper that caches prepared statements.
	Read Querier
	// Write runs every write (required).
	Write TxRunner
	// Now is the store's clock. Default time.Now.
	Now func() time.Time
	// Close releases the engine once the store is closed; may be nil.
	Close func() error
}

// Store is job.Store over database/sql.
type Store struct {
	d        Dialect
	read     Querier
	write    TxRunner
	now      func() time.Time
	closeFn  func() error
	sched    schedulerSQL
	deletion deletionSQL
	queued   chan struct{} // cap 1: a webhook message was committed
	graphs   *graphCache
	// lockJobSQL is lockJobQuery, built once.
	lockJobSQL string

	rebound sync.Map // query → query with the engine's placeholders

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// New returns a Store over cfg.
func New(cfg Config) (*Store, error) {
	if cfg.Read == nil || cfg.Write == nil || cfg.Dialect.Time == nil {
		return nil, errors.New("sqlstore: Read, Write and Dialect.Time are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Store{d: cfg.Dialect, read: cfg.Read, write: cfg.Write, now: cfg.Now, closeFn: cfg.Close,
		sched: newSchedulerSQL(cfg.Dialect), deletion: newDeletionSQL(cfg.Dialect), queued: make(chan struct{}, 1),
		graphs: newGraphCache(graphCacheBytes), lockJobSQL: lockJobQuery(cfg.Dialect)}, nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return job.ErrClosed
	}
	var one int
	if err := s.read.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return s.fail("ping", err)
	}
	return nil
}

// Close marks the store closed and releases the engine. Safe to repeat.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		if s.closeFn != nil {
			s.closeErr = s.closeFn()
		}
	})
	return s.closeErr
}

// sql returns query with the engine's placeholders.
func (s *Store) sql(query string) string {
	if s.d.Positional == nil {
		return query
	}
	if q, ok := s.rebound.Load(query); ok {
		return q.(string)
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString(s.d.Positional(n))
			continue
		}
		b.WriteRune(r)
	}
	s.rebound.Store(query, b.String())
	return b.String()
}

// clock returns the store's now in stored precision.
func (s *Store) clock() time.Time { return norm(s.now()) }

// timeArg encodes t as a parameter; a zero time is NULL.
func (s *Store) timeArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return s.d.Time(norm(t))
}

// norm is the stored form of a time: UTC, microseconds.
func norm(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// fail wraps an engine error with what was being done, turning errors caused
// by a concurrent Close into job.ErrClosed.
func (s *Store) fail(what string, err error) error {
	if s.closed.Load() {
		return fmt.Errorf("%s: %w", what, job.ErrClosed)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// timeCol scans a stored time: Unix microseconds (SQLite), a time.Time
// (PostgreSQL) or NULL (zero).
type timeCol struct{ t *time.Time }

func (c timeCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.t = time.Time{}
	case int64:
		*c.t = time.UnixMicro(v).UTC()
	case time.Time:
		*c.t = v.UTC()
	case string:
		return c.parse(v)
	case []byte:
		return c.parse(string(v))
	default:
		return fmt.Errorf("scan time: unsupported type %T", src)
	}
	return nil
}

func (c timeCol) parse(v string) error {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		*c.t = time.UnixMicro(n).UTC()
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return fmt.Errorf("scan time %q: %w", v, err)
	}
	*c.t = t.UTC()
	return nil
}

// jsonArg passes JSON text as a parameter; empty is NULL.
func jsonArg(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}
