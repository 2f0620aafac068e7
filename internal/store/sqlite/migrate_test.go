package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/internal/store/sqlite"
)

// TestMigrateOwnership opens a database written before workflows and
// artifact records had owners (migrations up to 00002): its workflows
// become shared, its records stay readable, and a second owner of the same
// upload can be recorded beside the first.
func TestMigrateOwnership(t *testing.T) {
	ctx := context.Background()
	path := tempPath(t)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, os.DirFS("migrations"),
		goose.WithDisableGlobalRegistry(true), goose.WithTableName("schema_migrations"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 2); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO workflow_versions (name, version, graph, params, description, created_at, updated_at)
		 VALUES ('old', 'v1', '{"1":{}}', NULL, 'kept', 1, 1)`,
		`INSERT INTO workflows (name, version) VALUES ('old', 'v1')`,
		`INSERT INTO artifacts (id, created_at, owner, filename, kind) VALUES ('aa', 1, 'alice', 'cat.png', 'input')`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s := open(t, sqlite.Config{Path: path})
	w, err := s.GetWorkflow(ctx, "", "old", "")
	if err != nil || w.Version != "v1" || w.Description != "kept" || w.Owner != "" {
		t.Fatalf("the old workflow after migrating: %+v, %v; want it shared, as it was", w, err)
	}
	if _, _, err := s.PutWorkflow(ctx, &job.Workflow{Owner: "alice", Name: "old", Graph: []byte(`{"2":{}}`)}); err != nil {
		t.Fatalf("alice's own workflow of the same name: %v", err)
	}
	if err := s.PutArtifact(ctx, &job.Artifact{ID: "aa", Owner: "bob", Filename: "cat.png", Kind: job.ArtifactInput}); err != nil {
		t.Fatal(err)
	}
	for _, owner := range []string{"alice", "bob"} {
		if _, err := s.GetOwnedArtifact(ctx, "aa", owner); err != nil {
			t.Errorf("%s's record of the blob: %v", owner, err)
		}
	}
	check, err := sql.Open("sqlite", path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer check.Close()
	if _, err := check.ExecContext(ctx, `INSERT INTO workflows (owner, name, version) VALUES ('bob', 'x', 'none')`); err == nil {
		t.Error("a workflow name pointing at no version was stored: the rebuilt tables lost their foreign key")
	}
	rows, err := check.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if rows.Next() {
		t.Error("foreign keys broken after the migration")
	}
}
