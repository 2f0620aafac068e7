package workflow_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/comfygate/comfygate/workflow"
	"github.com/comfygate/comfygate/workflow/corenodes"
)

func readUI(tb testing.TB, name string) []byte {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "ui", name))
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

func defaultCatalog(tb testing.TB) *workflow.Catalog {
	tb.Helper()
	cat, err := corenodes.Catalog(corenodes.Models{})
	if err != nil {
		tb.Fatal(err)
	}
	return cat
}

func TestFromUI(t *testing.T) {
	cat := defaultCatalog(t)
	for _, name := range []string{"default.json", "load-image.json"} {
		t.Run(name, func(t *testing.T) {
			data := readUI(t, name)
			if !workflow.IsUIFormat(data) {
				t.Fatal("IsUIFormat = false")
			}
			g, err := workflow.FromUI(data, cat)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := json.Marshal(g)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "ui-"+name, json.RawMessage(raw))
			if res := cat.Validate(g, workflow.ValidateOptions{}); !res.OK() || len(res.NodeErrors) > 0 {
				t.Errorf("converted graph does not validate: %+v %+v", res.Error, res.NodeErrors)
			}
		})
	}
}

func TestFromUIDefaultWorkflowDetails(t *testing.T) {
	g, err := workflow.FromUI(readUI(t, "default.json"), defaultCatalog(t))
	if err != nil {
		t.Fatal(err)
	}
	ks := g["3"]
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"seed skips control widget", ks.Inputs["seed"], json.Number("156680208700286")},
		{"steps from primitive", ks.Inputs["steps"], json.Number("30")},
		{"cfg after control widget", ks.Inputs["cfg"], json.Number("8")},
		{"title", ks.Title(), "My sampler"},
		{"default title", g["4"].Title(), "Load Checkpoint"},
		{"save wired through reroute and bypass", g["9"].Inputs["images"], workflow.Link("8", 0)},
	}
	for _, c := range checks {
		gj, _ := json.Marshal(c.got)
		wj, _ := json.Marshal(c.want)
		if string(gj) != string(wj) {
			t.Errorf("%s: got %s, want %s", c.name, gj, wj)
		}
	}
	for _, gone := range []string{"10", "11", "12", "13", "14"} {
		if _, ok := g[gone]; ok {
			t.Errorf("node %s should not be in the API graph", gone)
		}
	}
}

func TestFromUIErrors(t *testing.T) {
	cat := defaultCatalog(t)
	cases := []struct{ name, in, want string }{
		{"not json", `{`, "ui workflow: unexpected end of JSON input"},
		{"no links", `{"nodes": []}`, `ui workflow: needs "nodes" and "links" arrays`},
		{"unknown type", `{"nodes": [{"id": 1, "type": "Nope", "mode": 0}], "links": []}`, "ui workflow: node 1: unknown node type Nope"},
		{"subgraph", `{"nodes": [{"id": 1, "type": "0b1c2d3e-0000-4000-8000-000000000000"}], "links": [],
			"definitions": {"subgraphs": [{"id": "0b1c2d3e-0000-4000-8000-000000000000"}]}}`,
			"ui workflow: node 1: subgraphs are not supported; convert the subgraph to nodes in the editor first"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := workflow.FromUI([]byte(tc.in), cat)
			var ue *workflow.UIError
			if !errors.As(err, &ue) || err.Error() != tc.want {
				t.Errorf("err = %v, want %s", err, tc.want)
			}
		})
	}
	if workflow.IsUIFormat([]byte(`{"1": {"class_type": "X"}}`)) {
		t.Error("API prompt taken for a UI workflow")
	}
}

func FuzzFromUI(f *testing.F) {
	f.Add(readUI(f, "default.json"))
	f.Add(readUI(f, "load-image.json"))
	cat := defaultCatalog(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := workflow.FromUI(data, cat)
		if err != nil {
			return
		}
		if _, err := json.Marshal(g); err != nil {
			t.Fatalf("marshal: %v", err)
		}
		_ = cat.Validate(g, workflow.ValidateOptions{})
	})
}
