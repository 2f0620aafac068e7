package sqlite

import (
	"context"
	"database/sql"
	"sync"

	"github.com/comfygate/comfygate/internal/store/sqlstore"
)

// The driver prepares every query it runs from scratch, and for the store's
// wide rows preparing costs about as much as running. cached prepares each
// distinct query once: on the read pool (*sql.DB, where database/sql then
// keeps it per connection) or on the writer's own connection (*sql.Conn).

// maxCachedStmts bounds a cache; the store's queries (including every
// ListJobs filter combination) stay well below it.
const maxCachedStmts = 512

// preparer is *sql.DB or *sql.Conn.
type preparer interface {
	sqlstore.Querier
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// cached is a Querier that runs each query as a cached prepared statement.
type cached struct {
	on preparer

	mu    *sync.RWMutex // guards stmts
	stmts map[string]*sql.Stmt
}

var _ sqlstore.Querier = cached{}

func newCached(on preparer) cached {
	return cached{on: on, mu: new(sync.RWMutex), stmts: make(map[string]*sql.Stmt)}
}

// stmt returns the prepared form of query, or nil if it cannot be prepared
// (the caller then runs the query unprepared and reports that error).
func (c cached) stmt(ctx context.Context, query string) *sql.Stmt {
	c.mu.RLock()
	st, ok := c.stmts[query]
	c.mu.RUnlock()
	if ok {
		return st
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.stmts[query]; ok { // prepared meanwhile
		return st
	}
	if len(c.stmts) >= maxCachedStmts {
		return nil
	}
	st, err := c.on.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	c.stmts[query] = st
	return st
}

// close releases every prepared statement.
func (c cached) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.stmts {
		_ = st.Close()
		delete(c.stmts, q)
	}
}

func (c cached) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := c.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return c.on.ExecContext(ctx, query, args...)
}

func (c cached) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := c.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return c.on.QueryContext(ctx, query, args...)
}

func (c cached) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := c.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.on.QueryRowContext(ctx, query, args...)
}
