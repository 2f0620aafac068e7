package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/comfygate/comfygate/internal/job"
)

var _ job.BackendStore = (*Store)(nil)

const backendCols = `id, url, max_inflight, draining, created_at, updated_at, lease_owner, lease_until`

func scanBackend(sc scanner) (*job.Backend, error) {
	var b job.Backend
	err := sc.Scan(&b.ID, &b.URL, &b.MaxInflight, &b.Draining, timeCol{&b.CreatedAt}, timeCol{&b.UpdatedAt},
		&b.LeaseOwner, timeCol{&b.LeaseUntil})
	if err != nil {
		return nil, err
	}
	return &b, nil
}

func checkBackend(b *job.Backend) error {
	switch {
	case b.ID == "":
		return fmt.Errorf("%w: backend id is empty", job.ErrInvalid)
	case b.URL == "":
		return fmt.Errorf("%w: backend %s: url is empty", job.ErrInvalid, b.ID)
	case b.MaxInflight < 0:
		return fmt.Errorf("%w: backend %s: max_inflight is negative", job.ErrInvalid, b.ID)
	}
	return nil
}

// PutBackend implements job.BackendStore.
func (s *Store) PutBackend(ctx context.Context, b *job.Backend) (*job.Backend, error) {
	return s.putBackend(ctx, b, `ON CONFLICT (id) DO UPDATE SET url = excluded.url,
 max_inflight = excluded.max_inflight, updated_at = excluded.updated_at`)
}

// AddBackend implements job.BackendStore.
func (s *Store) AddBackend(ctx context.Context, b *job.Backend) (*job.Backend, error) {
	return s.putBackend(ctx, b, `ON CONFLICT (id) DO NOTHING`)
}

// putBackend inserts b, resolving an existing id with onConflict; a
// conflict that changed nothing (DO NOTHING) is ErrDuplicateID.
func (s *Store) putBackend(ctx context.Context, b *job.Backend, onConflict string) (*job.Backend, error) {
	if s.closed.Load() {
		return nil, job.ErrClosed
	}
	if err := checkBackend(b); err != nil {
		return nil, fmt.Errorf("put backend: %w", err)
	}
	now := s.timeArg(s.clock())
	var out *job.Backend
	err := s.write.InTx(ctx, func(ctx context.Context, q Querier) error {
		var err error
		out, err = scanBackend(q.QueryRowContext(ctx, s.sql(`INSERT INTO backends
 (id, url, max_inflight, draining, created_at, updated_at, lease_owner)
 VALUES (?, ?, ?, ?, ?, ?, '') `+onConflict+` RETURNING `+backendCols),
			b.ID, b.URL, b.MaxInflight, false, now, now))
		if errors.Is(err, sql.ErrNoRows) {
			return job.ErrDuplicateID
		}
		return err
	})
	if err != nil {
		return nil, s.fail("put backend "+b.ID, err)
	}
	return out, nil
}

// ListBackends implements job.BackendStore.
func (s *Store) ListBackends(ctx context.Context) ([]*job.Backend, error) {
	if s.closed.Load() {
		return nil, job.ErrClosed
	}
	rows, err := s.read.QueryContext(ctx, `SELECT `+backendCols+` FROM backends ORDER BY seq`)
	if err != nil {
		return nil, s.fail("list backends", err)
	}
	defer rows.Close()
	var out []*job.Backend
	for rows.Next() {
		b, err := scanBackend(rows)
		if err != nil {
			return nil, s.fail("list backends", err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("list backends", err)
	}
	return out, nil
}

// SetBackendDraining implements job.BackendStore.
func (s *Store) SetBackendDraining(ctx context.Context, id string, draining bool) error {
	return s.execOne(ctx, "set backend "+id+" draining",
		`UPDATE backends SET draining = ?, updated_at = ? WHERE id = ?`, draining, s.timeArg(s.clock()), id)
}

// DeleteBackend implements job.BackendStore.
func (s *Store) DeleteBackend(ctx context.Context, id string) error {
	return s.execOne(ctx, "delete backend "+id, `DELETE FROM backends WHERE id = ?`, id)
}

// execOne runs a write that must touch one row; none is ErrNotFound.
func (s *Store) execOne(ctx context.Context, what, query string, args ...any) error {
	if s.closed.Load() {
		return job.ErrClosed
	}
	err := s.write.InTx(ctx, func(ctx context.Context, q Querier) error {
		res, err := q.ExecContext(ctx, s.sql(query), args...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return job.ErrNotFound
		}
		return err
	})
	if err != nil {
		return s.fail(what, err)
	}
	return nil
}

// AcquireBackendLease implements job.BackendStore. One conditional UPDATE:
// the row lock (or SQLite's single writer) makes concurrent acquisitions
// see each other's result.
func (s *Store) AcquireBackendLease(ctx context.Context, id, owner string, now, until time.Time) (bool, error) {
	if s.closed.Load() {
		return false, job.ErrClosed
	}
	if owner == "" {
		return false, fmt.Errorf("acquire backend lease: %w: owner is empty", job.ErrInvalid)
	}
	held := false
	err := s.write.InTx(ctx, func(ctx context.Context, q Querier) error {
		res, err := q.ExecContext(ctx, s.sql(`UPDATE backends SET lease_owner = ?, lease_until = ?
 WHERE id = ? AND (lease_owner = ? OR lease_owner = '' OR lease_until IS NULL OR lease_until <= ?)`),
			owner, s.timeArg(until), id, owner, s.timeArg(now))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		held = n == 1
		return err
	})
	if err != nil {
		return false, s.fail("acquire lease of backend "+id, err)
	}
	return held, nil
}

// RenewBackendLeases implements job.BackendStore: one statement, whatever
// the number of backends owner drives. now is not needed: a lease still
// in owner's name was taken by nobody, lapsed or not.
func (s *Store) RenewBackendLeases(ctx context.Context, owner string, _, until time.Time) ([]string, error) {
	if s.closed.Load() {
		return nil, job.ErrClosed
	}
	var ids []string
	err := s.write.InTx(ctx, func(ctx context.Context, q Querier) error {
		ids = ids[:0]
		rows, err := q.QueryContext(ctx, s.sql(`UPDATE backends SET lease_until = ?
 WHERE lease_owner = ? RETURNING id`), s.timeArg(until), owner)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, s.fail("renew backend leases of "+owner, err)
	}
	slices.Sort(ids)
	return ids, nil
}

// ReleaseBackendLeases implements job.BackendStore.
func (s *Store) ReleaseBackendLeases(ctx context.Context, owner string, ids ...string) error {
	if s.closed.Load() {
		return job.ErrClosed
	}
	query := `UPDATE backends SET lease_owner = '', lease_until = NULL WHERE lease_owner = ?`
	args := []any{owner}
	if len(ids) > 0 {
		query += ` AND id IN (?` + strings.Repeat(", ?", len(ids)-1) + `)`
		for _, id := range ids {
			args = append(args, id)
		}
	}
	err := s.write.InTx(ctx, func(ctx context.Context, q Querier) error {
		_, err := q.ExecContext(ctx, s.sql(query), args...)
		return err
	})
	if err != nil {
		return s.fail("release backend leases of "+owner, err)
	}
	return nil
}

// Heartbeat implements job.BackendStore: the upsert, the sweep of lapsed
// replicas and the listing share one transaction.
func (s *Store) Heartbeat(ctx context.Context, id string, now, until time.Time) ([]string, error) {
	if s.closed.Load() {
		return nil, job.ErrClosed
	}
	if id == "" {
		return nil, fmt.Errorf("heartbeat: %w: replica id is empty", job.ErrInvalid)
	}
	var live []string
	err := s.write.InTx(ctx, func(ctx context.Context, q Querier) error {
		live = live[:0]
		if _, err := q.ExecContext(ctx, s.sql(`INSERT INTO replicas (id, started_at, alive_until) VALUES (?, ?, ?)
 ON CONFLICT (id) DO UPDATE SET alive_until = excluded.alive_until`), id, s.timeArg(now), s.timeArg(until)); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, s.sql(`DELETE FROM replicas WHERE alive_until <= ?`), s.timeArg(now)); err != nil {
			return err
		}
		rows, err := q.QueryContext(ctx, `SELECT id FROM replicas ORDER BY id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r string
			if err := rows.Scan(&r); err != nil {
				return err
			}
			live = append(live, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, s.fail("heartbeat of "+id, err)
	}
	return live, nil
}

// Leave implements job.BackendStore.
func (s *Store) Leave(ctx context.Context, id string) error {
	if s.closed.Load() {
		return job.ErrClosed
	}
	err := s.write.InTx(ctx, func(ctx context.Context, q Querier) error {
		_, err := q.ExecContext(ctx, s.sql(`DELETE FROM replicas WHERE id = ?`), id)
		return err
	})
	if err != nil {
		return s.fail("forget replica "+id, err)
	}
	return nil
}
