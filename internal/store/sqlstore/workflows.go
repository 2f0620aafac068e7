package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/comfygate/comfygate/internal/job"
)

// Workflows live in two tables: workflow_versions keeps every version ever
// put, and workflows maps each live name to its latest version, both keyed
// by owner first (each owner's namespace apart, "" the shared one).
// Deleting a name removes only the mapping, so jobs can still show what
// they ran.

const workflowCols = `v.owner, v.name, v.version, v.graph, v.params, v.description, v.created_at, v.updated_at`

// PutWorkflow implements job.Store.
func (s *Store) PutWorkflow(ctx context.Context, in *job.Workflow) (*job.Workflow, bool, error) {
	if s.closed.Load() {
		return nil, false, job.ErrClosed
	}
	w, err := checkWorkflow(in)
	if err != nil {
		return nil, false, fmt.Errorf("put workflow: %w", err)
	}
	var (
		out     *job.Workflow
		changed bool
	)
	err = s.write.InTx(ctx, func(ctx context.Context, q Querier) error {
		out, changed, err = s.putWorkflow(ctx, q, w)
		return err
	})
	if err != nil {
		return nil, false, s.fail("put workflow "+w.Name, err)
	}
	return out, changed, nil
}

func checkWorkflow(in *job.Workflow) (*job.Workflow, error) {
	w := *in
	switch {
	case w.Name == "":
		return nil, fmt.Errorf("%w: workflow name is empty", job.ErrInvalid)
	case len(w.Graph) == 0 || !json.Valid(w.Graph):
		return nil, fmt.Errorf("%w: workflow %s: graph is empty or not valid JSON", job.ErrInvalid, w.Name)
	case len(w.Params) > 0 && !json.Valid(w.Params):
		return nil, fmt.Errorf("%w: workflow %s: params is not valid JSON", job.ErrInvalid, w.Name)
	}
	if w.Version == "" {
		w.Version = job.WorkflowVersion(w.Graph, w.Params)
	}
	return &w, nil
}

func (s *Store) putWorkflow(ctx context.Context, q Querier, w *job.Workflow) (*job.Workflow, bool, error) {
	var latest string
	err := q.QueryRowContext(ctx, s.sql(`SELECT version FROM workflows WHERE owner = ? AND name = ?`+s.d.ForUpdate),
		w.Owner, w.Name).Scan(&latest)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, false, err
	}
	now := s.timeArg(s.clock())
	// A known version keeps its graph and params; only its description and
	// updated_at follow the put.
	_, err = q.ExecContext(ctx, s.sql(`INSERT INTO workflow_versions
 (owner, name, version, graph, params, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
 ON CONFLICT (owner, name, version) DO UPDATE SET description = excluded.description, updated_at = excluded.updated_at`),
		w.Owner, w.Name, w.Version, string(w.Graph), jsonArg(w.Params), w.Description, now, now)
	if err != nil {
		return nil, false, err
	}
	_, err = q.ExecContext(ctx, s.sql(`INSERT INTO workflows (owner, name, version) VALUES (?, ?, ?)
 ON CONFLICT (owner, name) DO UPDATE SET version = excluded.version`), w.Owner, w.Name, w.Version)
	if err != nil {
		return nil, false, err
	}
	out, err := scanWorkflow(q.QueryRowContext(ctx, s.sql(`SELECT `+workflowCols+` FROM workflow_versions v
 WHERE v.owner = ? AND v.name = ? AND v.version = ?`), w.Owner, w.Name, w.Version))
	return out, latest != w.Version, err
}

func scanWorkflow(sc scanner) (*job.Workflow, error) {
	var (
		w             job.Workflow
		graph, params []byte
	)
	err := sc.Scan(&w.Owner, &w.Name, &w.Version, &graph, &params, &w.Description, timeCol{&w.CreatedAt}, timeCol{&w.UpdatedAt})
	if err != nil {
		return nil, err
	}
	w.Graph, w.Params = raw(graph), raw(params)
	return &w, nil
}

// GetWorkflow implements job.Store.
func (s *Store) GetWorkflow(ctx context.Context, owner, name, version string) (*job.Workflow, error) {
	if s.closed.Load() {
		return nil, job.ErrClosed
	}
	var row *sql.Row
	if version == "" {
		row = s.read.QueryRowContext(ctx, s.sql(`SELECT `+workflowCols+` FROM workflows w
 JOIN workflow_versions v ON v.owner = w.owner AND v.name = w.name AND v.version = w.version
 WHERE w.owner = ? AND w.name = ?`), owner, name)
	} else {
		row = s.read.QueryRowContext(ctx, s.sql(`SELECT `+workflowCols+` FROM workflow_versions v
 WHERE v.owner = ? AND v.name = ? AND v.version = ?`), owner, name, version)
	}
	w, err := scanWorkflow(row)
	if errors.Is(err, sql.ErrNoRows) {
		err = job.ErrNotFound
	}
	if err != nil {
		return nil, s.fail(fmt.Sprintf("get workflow %s@%s of %q", name, version, owner), err)
	}
	return w, nil
}

// ListWorkflows implements job.Store.
func (s *Store) ListWorkflows(ctx context.Context, owner string) ([]*job.Workflow, error) {
	if s.closed.Load() {
		return nil, job.ErrClosed
	}
	rows, err := s.read.QueryContext(ctx, s.sql(`SELECT `+workflowCols+` FROM workflows w
 JOIN workflow_versions v ON v.owner = w.owner AND v.name = w.name AND v.version = w.version
 WHERE w.owner = ? ORDER BY w.name`), owner)
	if err != nil {
		return nil, s.fail("list workflows", err)
	}
	defer rows.Close()
	var out []*job.Workflow
	for rows.Next() {
		w, err := scanWorkflow(rows)
		if err != nil {
			return nil, s.fail("list workflows", err)
		}
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("list workflows", err)
	}
	return out, nil
}

// DeleteWorkflow implements job.Store.
func (s *Store) DeleteWorkflow(ctx context.Context, owner, name string) error {
	if s.closed.Load() {
		return job.ErrClosed
	}
	err := s.write.InTx(ctx, func(ctx context.Context, q Querier) error {
		res, err := q.ExecContext(ctx, s.sql(`DELETE FROM workflows WHERE owner = ? AND name = ?`), owner, name)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err == nil && n == 0 {
			err = job.ErrNotFound
		}
		return err
	})
	if err != nil {
		return s.fail("delete workflow "+name, err)
	}
	return nil
}
