package server

import (
	"encoding/json"
	"testing"

	"github.com/comfygate/comfygate/workflow"
	"github.com/comfygate/comfygate/workflow/corenodes"
)

// TestExamplesValidate checks that every example runs on a backend with
// the simulator's default models, with its defaults and with every
// parameter bound: a broken example would break the README tour.
func TestExamplesValidate(t *testing.T) {
	cat, err := corenodes.Catalog(corenodes.DefaultModels())
	if err != nil {
		t.Fatal(err)
	}
	list, err := Examples()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) == 0 || list[0].Name != "txt2img" {
		t.Fatalf("examples = %v, want txt2img first", list)
	}
	for _, ex := range list {
		t.Run(ex.Name, func(t *testing.T) {
			var body struct {
				Graph  json.RawMessage `json:"graph"`
				Params json.RawMessage `json:"params"`
			}
			if err := json.Unmarshal(ex.Body, &body); err != nil {
				t.Fatal(err)
			}
			g, err := workflow.ParseGraph(body.Graph, workflow.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			params, err := workflow.ParseParamSpec(body.Params)
			if err != nil {
				t.Fatal(err)
			}
			values := map[string]any{}
			for _, p := range params {
				values[p.Name] = p.Default
			}
			bound, err := workflow.Bind(g, params, values)
			if err != nil {
				t.Fatalf("bind defaults: %v", err)
			}
			res := cat.Validate(bound, workflow.ValidateOptions{})
			if res.Error != nil || len(res.NodeErrors) > 0 {
				t.Fatalf("validate: %+v %+v", res.Error, res.NodeErrors)
			}
		})
	}
}
