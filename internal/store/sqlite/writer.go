package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/internal/store/sqlstore"
)

// writer owns SQLite's single write connection and runs every write
// transaction of the store. Writes that arrive while a commit is in progress
// are committed together (group commit): each one runs inside its own
// SAVEPOINT, so one write's failure rolls back only that write, and its
// caller is answered only after the shared COMMIT — so "returned nil" still
// means "durable".
//
// There is no writer goroutine. The caller that finds the writer idle
// becomes the leader and runs its own write at once (no goroutine switch on
// an idle store); callers that arrive meanwhile queue up, and when the
// leader's commit is done it hands the lead to the first of them, which
// commits the whole queue as one batch.
type writer struct {
	conn     *sql.Conn // the only write connection, held for the store's life
	q        cached    // prepared statements on conn
	maxBatch int

	mu      sync.Mutex // guards the fields below
	queue   []*op      // waiting for the next batch
	leading bool       // some caller is running a batch or about to
	closed  bool       // close was called: take no new writes
	idle    *sync.Cond // signalled when leading becomes false
}

// op is one caller's transaction.
type op struct {
	ctx  context.Context
	fn   func(context.Context, sqlstore.Querier) error
	done chan result // buffered: the answer, or the lead
}

// result answers an op: its error, or lead == true to make its caller the
// next leader.
type result struct {
	err  error
	lead bool
}

func newWriter(conn *sql.Conn, maxBatch int) *writer {
	w := &writer{conn: conn, q: newCached(conn), maxBatch: maxBatch}
	w.idle = sync.NewCond(&w.mu)
	return w
}

// InTx implements sqlstore.TxRunner. Once queued, an op runs to completion
// even if ctx ends: its statements are not interrupted, which in SQLite
// could roll back the whole batch's transaction.
func (w *writer) InTx(ctx context.Context, fn func(context.Context, sqlstore.Querier) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o := &op{ctx: ctx, fn: fn, done: make(chan result, 1)}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return job.ErrClosed
	}
	w.queue = append(w.queue, o)
	if w.leading {
		w.mu.Unlock()
		r := <-o.done
		if !r.lead {
			return r.err
		}
		w.mu.Lock() // we lead now; our op heads the queue
	}
	w.leading = true
	w.lead()
	return (<-o.done).err
}

// lead runs one batch from the queue, then passes the lead to the next
// queued caller or, with the queue empty, steps down. It is called with w.mu
// held and returns with it released.
func (w *writer) lead() {
	n := min(len(w.queue), w.maxBatch)
	batch := w.queue[:n:n]
	w.queue = w.queue[n:]
	w.mu.Unlock()

	w.run(batch)

	w.mu.Lock()
	if len(w.queue) > 0 {
		w.queue[0].done <- result{lead: true}
	} else {
		w.leading = false
		w.idle.Broadcast()
	}
	w.mu.Unlock()
}

// close stops taking writes, waits for the queued ones to commit, and
// releases the connection.
func (w *writer) close() error {
	w.mu.Lock()
	w.closed = true
	for w.leading {
		w.idle.Wait()
	}
	w.mu.Unlock()
	w.q.close()
	return w.conn.Close()
}

// run commits batch as one transaction and answers every op.
//
// Transactions are plain BEGIN/COMMIT statements on the writer's connection
// rather than database/sql's Tx, so that the prepared statements cached on
// that connection serve every transaction as they are.
func (w *writer) run(batch []*op) {
	errs := make([]error, len(batch))
	defer func() {
		for i, o := range batch {
			o.done <- result{err: errs[i]}
		}
	}()
	// IMMEDIATE takes the write lock now: a transaction never fails half-way
	// to upgrade its lock because another process writes.
	if err := w.exec("BEGIN IMMEDIATE"); err != nil {
		fill(errs, fmt.Errorf("begin: %w", err))
		return
	}
	if len(batch) == 1 { // nothing to isolate: no savepoint needed
		if errs[0] = call(batch[0], w.q); errs[0] != nil {
			w.rollback()
			return
		}
	} else if err := w.runIsolated(batch, errs); err != nil {
		w.rollback()
		fill(errs, err)
		return
	}
	if err := w.exec("COMMIT"); err != nil {
		w.rollback()
		fill(errs, fmt.Errorf("commit: %w", err))
	}
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
