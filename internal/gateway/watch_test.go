package gateway

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestWatchDir(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	dir := t.TempDir()
	write := func(name, data string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("fox.json", string(readTestdata(t, "txt2img.json")))
	write("fox.params.yaml", "text:\n  target: 6.inputs.text\n  type: string\n  description: what to draw\n")
	write("broken.json", "{not json")
	write("notes.txt", "ignored")

	w, err := e.svc.WatchDir(ctx, dir, time.Hour) // scans once at start; the test drives later scans
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	fox, err := e.svc.GetWorkflow(ctx, "", "fox")
	if err != nil {
		t.Fatal(err)
	}
	if len(fox.Params) != 1 || fox.Params[0].Name != "text" || fox.Params[0].Description != "what to draw" {
		t.Errorf("fox params = %+v", fox.Params)
	}
	if _, err := e.svc.GetWorkflow(ctx, "", "broken"); !errors.Is(err, ErrNotFound) {
		t.Errorf("broken workflow stored: %v", err)
	}

	// A changed file is stored again; its spec removed → parameters detected.
	if err := os.Remove(filepath.Join(dir, "fox.params.yaml")); err != nil {
		t.Fatal(err)
	}
	write("broken.json", string(readTestdata(t, "load-image.json")))
	w.scan(ctx)
	fox, _ = e.svc.GetWorkflow(ctx, "", "fox")
	if len(fox.Params) < 5 {
		t.Errorf("after removing the spec, detected params = %d, want the detected set", len(fox.Params))
	}
	if _, err := e.svc.GetWorkflow(ctx, "", "broken"); err != nil {
		t.Errorf("fixed file not loaded: %v", err)
	}

	// A removed file deletes its workflow.
	if err := os.Remove(filepath.Join(dir, "fox.json")); err != nil {
		t.Fatal(err)
	}
	w.scan(ctx)
	if _, err := e.svc.GetWorkflow(ctx, "", "fox"); !errors.Is(err, ErrNotFound) {
		t.Errorf("fox still stored after its file was removed: %v", err)
	}
}

// TestWatchDirStoresAgainWithCatalog: a workflow file loaded before any
// backend reported its catalog is stored again, checked and with full
// parameters, once one has, though the file did not change.
func TestWatchDirStoresAgainWithCatalog(t *testing.T) {
	e := newEnv(t)
	cat := e.fleet.catalog
	e.fleet.catalog = nil
	ctx := context.Background()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "fox.json"), readTestdata(t, "txt2img.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := e.svc.WatchDir(ctx, dir, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	before, err := e.svc.GetWorkflow(ctx, "", "fox")
	if err != nil {
		t.Fatal(err)
	}
	e.fleet.catalog = cat
	w.scan(ctx)
	after, err := e.svc.GetWorkflow(ctx, "", "fox")
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Params) <= len(before.Params) || after.Version == before.Version {
		t.Errorf("params %d → %d, version %s → %s: want the full set once the catalog is known", len(before.Params), len(after.Params), before.Version, after.Version)
	}
}
