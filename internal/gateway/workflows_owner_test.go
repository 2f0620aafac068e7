package gateway

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/comfygate/comfygate/internal/job"
)

// graphWith is a small graph whose EmptyImage width tells versions apart.
func graphWith(width int) []byte {
	return []byte(strings.Replace(string(imagePrompt("")), `"width":8`, `"width":`+strconv.Itoa(width), 1))
}

// names lists the workflows owner sees.
func names(tb testing.TB, e *env, owner string) string {
	tb.Helper()
	list, err := e.svc.ListWorkflows(context.Background(), owner)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, w := range list {
		tag := w.Name
		if w.Owner != "" {
			tag += "(" + w.Owner + ")"
		}
		out = append(out, tag)
	}
	return strings.Join(out, " ")
}

// TestWorkflowsPerKey: a user key's workflows are its own (others neither
// see, run, change nor delete them); shared ones, written by an admin, are
// read and run by all and changed only by admins; a user cannot take a
// shared workflow's name.
func TestWorkflowsPerKey(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Admins = []string{"root"} })
	ctx := context.Background()
	put := func(owner, name string, width int) (Workflow, error) {
		w, _, err := e.svc.PutWorkflow(ctx, owner, name, graphWith(width))
		return w, err
	}
	mustPut := func(owner, name string, width int) Workflow {
		t.Helper()
		w, err := put(owner, name, width)
		if err != nil {
			t.Fatalf("%s puts %s: %v", owner, name, err)
		}
		return w
	}
	shared := mustPut("root", "house", 16)
	mine := mustPut("alice", "mine", 24)
	if shared.Owner != "" || mine.Owner != "alice" {
		t.Fatalf("owners: shared %q, alice's %q", shared.Owner, mine.Owner)
	}

	// Bob neither sees, runs nor deletes alice's.
	if _, err := e.svc.GetWorkflow(ctx, "bob", "mine"); !errors.Is(err, ErrNotFound) {
		t.Errorf("bob reads alice's workflow: %v", err)
	}
	if _, err := e.svc.Submit(ctx, rest("bob", job.Submission{Workflow: "mine"})); !errors.Is(err, ErrNotFound) {
		t.Errorf("bob runs alice's workflow: %v", err)
	}
	if _, err := e.svc.Submit(ctx, rest("bob", job.Submission{Workflow: "mine", Version: mine.Version})); !errors.Is(err, ErrNotFound) {
		t.Errorf("bob runs alice's workflow by its version: %v", err)
	}
	if err := e.svc.DeleteWorkflow(ctx, "bob", "mine"); !errors.Is(err, ErrNotFound) {
		t.Errorf("bob deletes alice's workflow: %v", err)
	}
	if got := names(t, e, "bob"); got != "house" {
		t.Errorf("bob lists %q", got)
	}
	// Bob's "mine" is his own; alice's stays as it was.
	bobs := mustPut("bob", "mine", 32)
	if again, _ := e.svc.GetWorkflow(ctx, "alice", "mine"); again.Version != mine.Version {
		t.Errorf("bob's put changed alice's workflow: %s → %s", mine.Version, again.Version)
	}
	if got, _ := e.svc.GetWorkflow(ctx, "bob", "mine"); got.Version != bobs.Version || got.Owner != "bob" {
		t.Errorf("bob reads %+v, want his own", got.Workflow)
	}

	// Shared: everyone reads and runs it, only admins change it.
	for _, owner := range []string{"alice", "bob", "root"} {
		if got, err := e.svc.GetWorkflow(ctx, owner, "house"); err != nil || got.Version != shared.Version {
			t.Errorf("%s reads the shared workflow: %v", owner, err)
		}
		if _, err := e.svc.Submit(ctx, rest(owner, job.Submission{Workflow: "house"})); err != nil {
			t.Errorf("%s runs the shared workflow: %v", owner, err)
		}
	}
	var conflict *ConflictError
	if _, err := put("alice", "house", 40); !errors.As(err, &conflict) || !strings.Contains(conflict.Message, "shared") {
		t.Errorf("alice stores the shared workflow's name: %v, want a ConflictError saying it is shared", err)
	}
	var forbidden *ForbiddenError
	if err := e.svc.DeleteWorkflow(ctx, "alice", "house"); !errors.As(err, &forbidden) {
		t.Errorf("alice deletes the shared workflow: %v, want a ForbiddenError", err)
	}
	if got, _ := e.svc.GetWorkflow(ctx, "bob", "house"); got.Version != shared.Version {
		t.Errorf("the shared workflow changed: %s", got.Version)
	}
	changed := mustPut("root", "house", 48)
	if got, _ := e.svc.GetWorkflow(ctx, "alice", "house"); got.Version != changed.Version {
		t.Errorf("alice does not see the admin's change: %s", got.Version)
	}

	// The admin writes the shared namespace only: alice's stays hers.
	if err := e.svc.DeleteWorkflow(ctx, "root", "mine"); !errors.Is(err, ErrNotFound) {
		t.Errorf("root deletes alice's workflow: %v", err)
	}
	// A shared workflow that arrives after a user's own of that name (the
	// watched directory cannot be refused) does not hide the user's.
	mustPut("root", "mine", 56)
	if got, _ := e.svc.GetWorkflow(ctx, "alice", "mine"); got.Version != mine.Version {
		t.Errorf("alice's own workflow is hidden by a shared one: %s", got.Version)
	}
	if got := names(t, e, "alice"); got != "house mine(alice)" {
		t.Errorf("alice lists %q", got)
	}
	if got := names(t, e, "carol"); got != "house mine" {
		t.Errorf("carol lists %q", got)
	}
	if err := e.svc.DeleteWorkflow(ctx, "alice", "mine"); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.svc.GetWorkflow(ctx, "alice", "mine"); got.Owner != "" {
		t.Errorf("after deleting her own, alice reads %q's", got.Owner)
	}
}

// TestWorkflowsWithoutKeys: with authentication off everyone is the admin
// and every workflow is shared, as before keys existed.
func TestWorkflowsWithoutKeys(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	w, _, err := e.svc.PutWorkflow(ctx, "", "w", graphWith(8))
	if err != nil || w.Owner != "" {
		t.Fatalf("put: %+v %v", w.Workflow, err)
	}
	if err := e.svc.DeleteWorkflow(ctx, "", "w"); err != nil {
		t.Errorf("delete: %v", err)
	}
}
