package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/comfygate/comfygate/internal/job"
)

const artifactCols = `id, content_type, size, created_at, owner, job_id, node_id, filename, kind`

// PutArtifact implements job.Store.
func (s *Store) PutArtifact(ctx context.Context, a *job.Artifact) error {
	if s.closed.Load() {
		return job.ErrClosed
	}
	if err := checkArtifact(a); err != nil {
		return fmt.Errorf("put artifact: %w", err)
	}
	err := s.write.InTx(ctx, func(ctx context.Context, q Querier) error {
		return s.insertArtifact(ctx, q, a)
	})
	if err != nil {
		return s.fail("put artifact "+a.ID, err)
	}
	return nil
}

func checkArtifact(a *job.Artifact) error {
	if a.ID == "" {
		return fmt.Errorf("%w: artifact id is empty", job.ErrInvalid)
	}
	return nil
}

// insertArtifact records a unless its key is recorded already.
func (s *Store) insertArtifact(ctx context.Context, q Querier, a *job.Artifact) error {
	created := a.CreatedAt
	if created.IsZero() {
		created = s.now()
	}
	_, err := q.ExecContext(ctx, s.sql(`INSERT INTO artifacts (`+artifactCols+`)
 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`),
		a.ID, a.ContentType, a.Size, s.timeArg(created), a.Owner, a.JobID, a.NodeID, a.Filename, a.Kind)
	return err
}

func scanArtifact(sc scanner) (*job.Artifact, error) {
	var a job.Artifact
	err := sc.Scan(&a.ID, &a.ContentType, &a.Size, timeCol{&a.CreatedAt}, &a.Owner, &a.JobID, &a.NodeID, &a.Filename, &a.Kind)
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// GetArtifact implements job.Store.
func (s *Store) GetArtifact(ctx context.Context, id string) (*job.Artifact, error) {
	if s.closed.Load() {
		return nil, job.ErrClosed
	}
	a, err := scanArtifact(s.read.QueryRowContext(ctx,
		s.sql(`SELECT `+artifactCols+` FROM artifacts WHERE id = ? ORDER BY seq LIMIT 1`), id))
	if errors.Is(err, sql.ErrNoRows) {
		err = job.ErrNotFound
	}
	if err != nil {
		return nil, s.fail("get artifact "+id, err)
	}
	return a, nil
}

// GetOwnedArtifact implements job.Store. The unique key (id, owner, …)
// serves it.
func (s *Store) GetOwnedArtifact(ctx context.Context, id, owner string) (*job.Artifact, error) {
	if s.closed.Load() {
		return nil, job.ErrClosed
	}
	a, err := scanArtifact(s.read.QueryRowContext(ctx,
		s.sql(`SELECT `+artifactCols+` FROM artifacts WHERE id = ? AND owner = ? ORDER BY seq LIMIT 1`), id, owner))
	if errors.Is(err, sql.ErrNoRows) {
		err = job.ErrNotFound
	}
	if err != nil {
		return nil, s.fail("get artifact "+id+" of "+owner, err)
	}
	return a, nil
}

// ListArtifacts implements job.Store.
func (s *Store) ListArtifacts(ctx context.Context, jobID string) ([]*job.Artifact, error) {
	if s.closed.Load() {
		return nil, job.ErrClosed
	}
	rows, err := s.read.QueryContext(ctx,
		s.sql(`SELECT `+artifactCols+` FROM artifacts WHERE job_id = ? ORDER BY seq`), jobID)
	if err != nil {
		return nil, s.fail("list artifacts of job "+jobID, err)
	}
	defer rows.Close()
	var out []*job.Artifact
	for rows.Next() {
		a, err := scanArtifact(rows)
		if err != nil {
			return nil, s.fail("list artifacts of job "+jobID, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("list artifacts of job "+jobID, err)
	}
	return out, nil
}
