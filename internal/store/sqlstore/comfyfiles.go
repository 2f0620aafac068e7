package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/comfygate/comfygate/internal/job"
)

var _ job.ComfyFileStore = (*Store)(nil)

const comfyFileCols = `owner, type, subfolder, filename, prefix, counter, artifact_id, job_id,
 backend, origin_type, origin_subfolder, origin_filename, created_at`

const comfyFileValues = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func (s *Store) comfyFileArgs(f *job.ComfyFile) ([]any, error) {
	if f.Type == "" || f.Filename == "" {
		return nil, fmt.Errorf("%w: comfy file needs a type and a filename", job.ErrInvalid)
	}
	created := f.CreatedAt
	if created.IsZero() {
		created = s.now()
	}
	return []any{f.Owner, f.Type, f.Subfolder, f.Filename, f.Prefix, f.Counter, f.ArtifactID, f.JobID,
		f.Backend, f.OriginType, f.OriginSubfolder, f.OriginFilename, s.timeArg(created)}, nil
}

// CreateComfyFile implements job.ComfyFileStore.
func (s *Store) CreateComfyFile(ctx context.Context, f *job.ComfyFile) error {
	if s.closed.Load() {
		return job.ErrClosed
	}
	args, err := s.comfyFileArgs(f)
	if err != nil {
		return fmt.Errorf("create comfy file: %w", err)
	}
	taken := false
	err = s.write.InTx(ctx, func(ctx context.Context, q Querier) error {
		taken, err = s.insertComfyFile(ctx, q, args)
		return err
	})
	if err != nil {
		return s.fail("create comfy file "+f.Filename, err)
	}
	if taken {
		return fmt.Errorf("create comfy file %s/%s/%s: %w: the name is taken", f.Type, f.Subfolder, f.Filename, job.ErrConflict)
	}
	return nil
}

// insertComfyFile inserts the row of args unless its name is taken.
func (s *Store) insertComfyFile(ctx context.Context, q Querier, args []any) (taken bool, err error) {
	res, err := q.ExecContext(ctx, s.sql(`INSERT INTO comfy_files (`+comfyFileCols+`) VALUES `+
		comfyFileValues+` ON CONFLICT DO NOTHING`), args...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return err == nil && n == 0, err
}

// insertComfyFiles inserts files in a transaction of the caller's and
// returns those whose name is taken.
func (s *Store) insertComfyFiles(ctx context.Context, q Querier, files []*job.ComfyFile) ([]*job.ComfyFile, error) {
	var taken []*job.ComfyFile
	for _, f := range files {
		args, err := s.comfyFileArgs(f)
		if err != nil {
			return nil, err
		}
		t, err := s.insertComfyFile(ctx, q, args)
		if err != nil {
			return nil, err
		}
		if t {
			taken = append(taken, f)
		}
	}
	return taken, nil
}

// UpdateJobWithNames implements job.ComfyFileStore.
func (s *Store) UpdateJobWithNames(ctx context.Context, id string, fn func(*job.Job) ([]job.Event, error), names []*job.ComfyFile, arts ...*job.Artifact) (*job.Job, []job.Event, []*job.ComfyFile, error) {
	for _, a := range arts {
		if err := checkArtifact(a); err != nil {
			return nil, nil, nil, fmt.Errorf("update job %s: %w", id, err)
		}
	}
	for _, f := range names {
		if _, err := s.comfyFileArgs(f); err != nil {
			return nil, nil, nil, fmt.Errorf("update job %s: %w", id, err)
		}
	}
	return s.update(ctx, id, fn, names, arts)
}

// PutComfyFile implements job.ComfyFileStore.
func (s *Store) PutComfyFile(ctx context.Context, f *job.ComfyFile) error {
	if s.closed.Load() {
		return job.ErrClosed
	}
	args, err := s.comfyFileArgs(f)
	if err != nil {
		return fmt.Errorf("put comfy file: %w", err)
	}
	set := make([]string, 0, 9)
	for _, c := range []string{"prefix", "counter", "artifact_id", "job_id", "backend", "origin_type",
		"origin_subfolder", "origin_filename", "created_at"} {
		set = append(set, c+" = excluded."+c)
	}
	err = s.write.InTx(ctx, func(ctx context.Context, q Querier) error {
		_, err := q.ExecContext(ctx, s.sql(`INSERT INTO comfy_files (`+comfyFileCols+`) VALUES `+comfyFileValues+
			` ON CONFLICT (owner, type, subfolder, filename) DO UPDATE SET `+strings.Join(set, ", ")), args...)
		return err
	})
	if err != nil {
		return s.fail("put comfy file "+f.Filename, err)
	}
	return nil
}

func scanComfyFile(sc scanner) (*job.ComfyFile, error) {
	var f job.ComfyFile
	err := sc.Scan(&f.Owner, &f.Type, &f.Subfolder, &f.Filename, &f.Prefix, &f.Counter, &f.ArtifactID, &f.JobID,
		&f.Backend, &f.OriginType, &f.OriginSubfolder, &f.OriginFilename, timeCol{&f.CreatedAt})
	if err != nil {
		return nil, err
	}
	return &f, nil
}

// oneComfyFile runs a query for at most one row.
func (s *Store) oneComfyFile(ctx context.Context, what, query string, args ...any) (*job.ComfyFile, error) {
	if s.closed.Load() {
		return nil, job.ErrClosed
	}
	f, err := scanComfyFile(s.read.QueryRowContext(ctx, s.sql(query), args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%s: %w", what, job.ErrNotFound)
	}
	if err != nil {
		return nil, s.fail(what, err)
	}
	return f, nil
}

// GetComfyFile implements job.ComfyFileStore.
func (s *Store) GetComfyFile(ctx context.Context, owner, typ, subfolder, filename string) (*job.ComfyFile, error) {
	return s.oneComfyFile(ctx, "get comfy file "+filename,
		`SELECT `+comfyFileCols+` FROM comfy_files WHERE owner = ? AND type = ? AND subfolder = ? AND filename = ?`,
		owner, typ, subfolder, filename)
}

// FindComfyFile implements job.ComfyFileStore.
func (s *Store) FindComfyFile(ctx context.Context, owner, backend, typ, subfolder, filename string) (*job.ComfyFile, error) {
	return s.oneComfyFile(ctx, "find comfy file "+filename,
		`SELECT `+comfyFileCols+` FROM comfy_files WHERE owner = ? AND backend = ? AND origin_type = ?
 AND origin_subfolder = ? AND origin_filename = ? ORDER BY seq DESC LIMIT 1`,
		owner, backend, typ, subfolder, filename)
}

// ListComfyFiles implements job.ComfyFileStore.
func (s *Store) ListComfyFiles(ctx context.Context, f job.ComfyFileFilter) ([]*job.ComfyFile, error) {
	if s.closed.Load() {
		return nil, job.ErrClosed
	}
	query := `SELECT ` + comfyFileCols + ` FROM comfy_files WHERE owner = ? AND type = ? AND subfolder = ? ORDER BY seq LIMIT ?`
	args := []any{f.Owner, f.Type, f.Subfolder, job.ComfyFileLimit(f.Limit)}
	if f.JobID != "" {
		query = `SELECT ` + comfyFileCols + ` FROM comfy_files WHERE job_id = ? AND owner = ? ORDER BY seq LIMIT ?`
		args = []any{f.JobID, f.Owner, job.ComfyFileLimit(f.Limit)}
	}
	rows, err := s.read.QueryContext(ctx, s.sql(query), args...)
	if err != nil {
		return nil, s.fail("list comfy files", err)
	}
	defer rows.Close()
	var out []*job.ComfyFile
	for rows.Next() {
		cf, err := scanComfyFile(rows)
		if err != nil {
			return nil, s.fail("list comfy files", err)
		}
		out = append(out, cf)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("list comfy files", err)
	}
	return out, nil
}

// LastComfyCounter implements job.ComfyFileStore.
func (s *Store) LastComfyCounter(ctx context.Context, owner, typ, subfolder, prefix string) (int, error) {
	if s.closed.Load() {
		return 0, job.ErrClosed
	}
	var n sql.NullInt64
	err := s.read.QueryRowContext(ctx, s.sql(`SELECT MAX(counter) FROM comfy_files
 WHERE owner = ? AND type = ? AND subfolder = ? AND prefix = ?`), owner, typ, subfolder, prefix).Scan(&n)
	if err != nil {
		return 0, s.fail("last comfy counter of "+prefix, err)
	}
	return int(n.Int64), nil
}
