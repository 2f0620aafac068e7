package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/comfygate/comfygate/internal/groupcommit"
	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/internal/store/sqlstore"
)

// writer owns SQLite's single write connection and runs every write
// transaction of the store. Writes that arrive while a commit is in progress
// are committed together (group commit, see internal/groupcommit): each one
// runs inside its own SAVEPOINT, so one write's failure rolls back only that
// write, and its caller is answered only after the shared COMMIT — so
// "returned nil" still means "durable".
//
// A batch whose ops all defer their sync (job.DeferSync) commits with
// synchronous=NORMAL when the store runs FULL or EXTRA: its commit is
// written to the WAL but not fsynced. The next batch with an ordinary op
// commits at the store's level, and its fsync makes every frame before it
// durable too (SQLite replays a WAL up to its last valid commit, in order).
type writer struct {
	conn    *sql.Conn // the only write connection, held for the store's life
	q       cached    // prepared statements on conn
	batch   *groupcommit.Batcher[*op]
	level   string // the store's synchronous level
	current string // the level conn commits at now
}

// op is one caller's transaction.
type op struct {
	ctx context.Context
	fn  func(context.Context, sqlstore.Querier) error
}

func newWriter(conn *sql.Conn, maxBatch int, level string) *writer {
	w := &writer{conn: conn, q: newCached(conn), level: level, current: level}
	w.batch = groupcommit.New(maxBatch, w.run)
	return w
}

// InTx implements sqlstore.TxRunner. Once queued, an op runs to completion
// even if ctx ends: its statements are not interrupted, which in SQLite
// could roll back the whole batch's transaction.
func (w *writer) InTx(ctx context.Context, fn func(context.Context, sqlstore.Querier) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := w.batch.Do(&op{ctx: ctx, fn: fn})
	if errors.Is(err, groupcommit.ErrClosed) {
		return job.ErrClosed
	}
	return err
}

// close stops taking writes, waits for the queued ones to commit, and
// releases the connection.
func (w *writer) close() error {
	w.batch.Close()
	w.q.close()
	return w.conn.Close()
}

// run commits batch as one transaction and returns each op's error.
//
// Transactions are plain BEGIN/COMMIT statements on the writer's connection
// rather than database/sql's Tx, so that the prepared statements cached on
// that connection serve every transaction as they are.
func (w *writer) run(batch []*op) (errs []error) {
	errs = make([]error, len(batch))
	if err := w.syncAt(w.levelFor(batch)); err != nil {
		fill(errs, err)
		return errs
	}
	// IMMEDIATE takes the write lock now: a transaction never fails half-way
	// to upgrade its lock because another process writes.
	if err := w.exec("BEGIN IMMEDIATE"); err != nil {
		fill(errs, fmt.Errorf("begin: %w", err))
		return errs
	}
	if len(batch) == 1 { // nothing to isolate: no savepoint needed
		if errs[0] = call(batch[0], w.q); errs[0] != nil {
			w.rollback()
			return errs
		}
	} else if err := w.runIsolated(batch, errs); err != nil {
		w.rollback()
		fill(errs, err)
		return errs
	}
	if err := w.exec("COMMIT"); err != nil {
		w.rollback()
		fill(errs, fmt.Errorf("commit: %w", err))
	}
	return errs
}

// levelFor returns the synchronous level batch commits at: NORMAL when
// every op in it defers its sync and the store syncs more than that.
func (w *writer) levelFor(batch []*op) string {
	if w.level == "NORMAL" {
		return w.level
	}
	for _, o := range batch {
		if !job.SyncDeferred(o.ctx) {
			return w.level
		}
	}
	return "NORMAL"
}

// syncAt sets the level the connection commits at, unless it is set.
func (w *writer) syncAt(level string) error {
	if level == w.current {
		return nil
	}
	if err := w.exec("PRAGMA synchronous = " + level); err != nil {
		return fmt.Errorf("synchronous %s: %w", level, err)
	}
	w.current = level
	return nil
}

func (w *writer) exec(stmt string) error {
	_, err := w.q.ExecContext(context.Background(), stmt)
	return err
}

// rollback ends a failed transaction. Its error is not interesting: SQLite
// may already have rolled back on its own.
func (w *writer) rollback() { _ = w.exec("ROLLBACK") }

// runIsolated runs each op of batch in a savepoint. A failing op is rolled
// back alone; an error returned here broke the transaction itself.
func (w *writer) runIsolated(batch []*op, errs []error) error {
	for i, o := range batch {
		if err := w.exec("SAVEPOINT op"); err != nil {
			return fmt.Errorf("savepoint: %w", err)
		}
		if errs[i] = call(o, w.q); errs[i] != nil {
			if err := w.exec("ROLLBACK TO op"); err != nil {
				return fmt.Errorf("rollback to savepoint: %w", err)
			}
		}
		if err := w.exec("RELEASE op"); err != nil {
			return fmt.Errorf("release savepoint: %w", err)
		}
	}
	return nil
}

// call runs one op's fn, turning a panic into an error so that one bad
// caller cannot take the writer down with it.
func call(o *op, q sqlstore.Querier) (err error) {
	if err := o.ctx.Err(); err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("sqlite: panic in store transaction: %v", r)
		}
	}()
	return o.fn(context.WithoutCancel(o.ctx), q)
}

// fill sets every error still nil to err: when the transaction fails, no op
// in it was committed.
func fill(errs []error, err error) {
	for i := range errs {
		if errs[i] == nil {
			errs[i] = err
		}
	}
}
