package storetest

import (
	"encoding/json"
	"testing"

	"github.com/comfygate/comfygate/internal/job"
)

var workflowTests = map[string]func(*testing.T, NewStore){
	"PutAndGet":       workflowPutAndGet,
	"Versions":        workflowVersions,
	"List":            workflowList,
	"Delete":          workflowDelete,
	"ExplicitVersion": workflowExplicitVersion,
	"Invalid":         workflowInvalid,
	"NotFound":        workflowNotFound,
	"Namespaces":      workflowNamespaces,
}

func wf(name, graph string) *job.Workflow {
	return &job.Workflow{Name: name, Graph: json.RawMessage(graph),
		Params: json.RawMessage(`{"seed":{"target":"3.inputs.seed"}}`), Description: "d"}
}

func put(tb testing.TB, s job.Store, w *job.Workflow) (*job.Workflow, bool) {
	tb.Helper()
	got, changed, err := s.PutWorkflow(tb.Context(), w)
	if err != nil {
		tb.Fatalf("PutWorkflow(%s): %v", w.Name, err)
	}
	return got, changed
}

func getWF(tb testing.TB, s job.Store, name, version string) *job.Workflow {
	tb.Helper()
	return getOwnedWF(tb, s, "", name, version)
}

func getOwnedWF(tb testing.TB, s job.Store, owner, name, version string) *job.Workflow {
	tb.Helper()
	got, err := s.GetWorkflow(tb.Context(), owner, name, version)
	if err != nil {
		tb.Fatalf("GetWorkflow(%s, %q): %v", name, version, err)
	}
	return got
}

func workflowPutAndGet(t *testing.T, ns NewStore) {
	s := ns(t)
	in := wf("txt2img", `{"3": {"class_type": "KSampler"}}`)
	got, changed := put(t, s, in)
	if !changed || got.Version != job.WorkflowVersion(in.Graph, in.Params) || got.CreatedAt.IsZero() {
		t.Errorf("first put: changed %v, version %q, created %v", changed, got.Version, got.CreatedAt)
	}
	if string(got.Graph) != string(in.Graph) || string(got.Params) != string(in.Params) || got.Description != "d" {
		t.Errorf("stored workflow differs from input: %+v", got)
	}
	if in.Version != "" {
		t.Error("PutWorkflow modified its input")
	}
	diff(t, "latest", got, getWF(t, s, "txt2img", ""))
	diff(t, "by version", got, getWF(t, s, "txt2img", got.Version))

	// The same content again is not a change; the description follows.
	again := wf("txt2img", `{"3": {"class_type": "KSampler"}}`)
	again.Description = "new words"
	got2, changed := put(t, s, again)
	if changed || got2.Version != got.Version || got2.Description != "new words" || !got2.CreatedAt.Equal(got.CreatedAt) {
		t.Errorf("re-put: changed %v, %+v", changed, got2)
	}
}

func workflowVersions(t *testing.T, ns NewStore) {
	s := ns(t)
	v1, _ := put(t, s, wf("w", `{"1":{}}`))
	v2, changed := put(t, s, wf("w", `{"2":{}}`))
	if !changed || v2.Version == v1.Version {
		t.Fatalf("second version: changed %v, versions %s %s", changed, v1.Version, v2.Version)
	}
	diff(t, "latest is v2", v2.Version, getWF(t, s, "w", "").Version)
	if old := getWF(t, s, "w", v1.Version); string(old.Graph) != `{"1":{}}` {
		t.Errorf("old version graph = %s", old.Graph)
	}
	// Returning to v1 is a change, and v1 keeps its graph.
	back, changed := put(t, s, wf("w", `{"1":{}}`))
	if !changed || back.Version != v1.Version {
		t.Errorf("back to v1: changed %v, version %s", changed, back.Version)
	}
	diff(t, "latest is v1 again", v1.Version, getWF(t, s, "w", "").Version)
}

func workflowList(t *testing.T, ns NewStore) {
	s := ns(t)
	empty, err := s.ListWorkflows(t.Context(), "")
	if err != nil || len(empty) != 0 {
		t.Fatalf("ListWorkflows on an empty store = %v, %v", empty, err)
	}
	put(t, s, wf("zeta", `{"z":1}`))
	put(t, s, wf("alpha", `{"a":1}`))
	latest, _ := put(t, s, wf("alpha", `{"a":2}`))
	got, err := s.ListWorkflows(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "alpha" || got[1].Name != "zeta" {
		t.Fatalf("ListWorkflows names = %v", got)
	}
	diff(t, "alpha is its latest version", latest, got[0])
}

func workflowDelete(t *testing.T, ns NewStore) {
	s := ns(t)
	v1, _ := put(t, s, wf("gone", `{"1":{}}`))
	put(t, s, wf("kept", `{"k":{}}`))
	if err := s.DeleteWorkflow(t.Context(), "", "gone"); err != nil {
		t.Fatal(err)
	}
	_, err := s.GetWorkflow(t.Context(), "", "gone", "")
	wantErr(t, "latest of a deleted workflow", err, job.ErrNotFound)
	diff(t, "version of a deleted workflow stays readable", v1, getWF(t, s, "gone", v1.Version))
	list, _ := s.ListWorkflows(t.Context(), "")
	if len(list) != 1 || list[0].Name != "kept" {
		t.Errorf("ListWorkflows after delete = %v", list)
	}
	wantErr(t, "delete twice", s.DeleteWorkflow(t.Context(), "", "gone"), job.ErrNotFound)
	back, changed := put(t, s, wf("gone", `{"1":{}}`))
	if !changed || back.Version != v1.Version {
		t.Errorf("put after delete: changed %v version %s", changed, back.Version)
	}
	diff(t, "revived", back.Version, getWF(t, s, "gone", "").Version)
}

func workflowExplicitVersion(t *testing.T, ns NewStore) {
	s := ns(t)
	in := wf("w", `{}`)
	in.Version = "v-given"
	got, _ := put(t, s, in)
	if got.Version != "v-given" {
		t.Errorf("version = %q, want the given one", got.Version)
	}
}

func workflowInvalid(t *testing.T, ns NewStore) {
	s := ns(t)
	for name, w := range map[string]*job.Workflow{
		"no name":    {Graph: json.RawMessage(`{}`)},
		"no graph":   {Name: "w"},
		"bad graph":  {Name: "w", Graph: json.RawMessage(`{`)},
		"bad params": {Name: "w", Graph: json.RawMessage(`{}`), Params: json.RawMessage(`x`)},
	} {
		_, _, err := s.PutWorkflow(t.Context(), w)
		wantErr(t, name, err, job.ErrInvalid)
	}
}

func workflowNotFound(t *testing.T, ns NewStore) {
	s := ns(t)
	put(t, s, wf("w", `{}`))
	for _, c := range [][2]string{{"nope", ""}, {"nope", "v"}, {"w", "v-unknown"}} {
		_, err := s.GetWorkflow(t.Context(), "", c[0], c[1])
		wantErr(t, "GetWorkflow("+c[0]+", "+c[1]+")", err, job.ErrNotFound)
	}
	wantErr(t, "DeleteWorkflow(unknown)", s.DeleteWorkflow(t.Context(), "", "nope"), job.ErrNotFound)
}

// workflowNamespaces: each owner's names, versions and deletions are its
// own; "" is just another namespace to the store.
func workflowNamespaces(t *testing.T, ns NewStore) {
	s := ns(t)
	owned := func(owner, graph, desc string) *job.Workflow {
		w := wf("w", graph)
		w.Owner, w.Description = owner, desc
		return w
	}
	shared, _ := put(t, s, owned("", `{"1":{}}`, "shared"))
	alice, changed := put(t, s, owned("alice", `{"1":{}}`, "alice's"))
	if !changed || alice.Owner != "alice" || alice.Version != shared.Version {
		t.Fatalf("alice's put of the same graph: changed %v, %+v", changed, alice)
	}
	bob, _ := put(t, s, owned("bob", `{"2":{}}`, "bob's"))
	for _, c := range []struct {
		owner string
		want  *job.Workflow
	}{{"", shared}, {"alice", alice}, {"bob", bob}} {
		diff(t, "latest of "+c.owner, c.want, getOwnedWF(t, s, c.owner, "w", ""))
		list, err := s.ListWorkflows(t.Context(), c.owner)
		if err != nil {
			t.Fatal(err)
		}
		diff(t, "list of "+c.owner, []*job.Workflow{c.want}, list)
	}
	// A version is read in its own namespace only, so another owner's
	// version hash does not open it.
	_, err := s.GetWorkflow(t.Context(), "alice", "w", bob.Version)
	wantErr(t, "bob's version in alice's namespace", err, job.ErrNotFound)
	list, _ := s.ListWorkflows(t.Context(), "carol")
	if len(list) != 0 {
		t.Errorf("an owner with nothing lists %v", list)
	}
	if err := s.DeleteWorkflow(t.Context(), "alice", "w"); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetWorkflow(t.Context(), "alice", "w", "")
	wantErr(t, "alice's deleted workflow", err, job.ErrNotFound)
	diff(t, "the shared one stays", shared, getOwnedWF(t, s, "", "w", ""))
	diff(t, "bob's stays", bob, getOwnedWF(t, s, "bob", "w", ""))
	wantErr(t, "delete in a namespace without the name", s.DeleteWorkflow(t.Context(), "carol", "w"), job.ErrNotFound)
}
