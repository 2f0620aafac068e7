package workflow_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/workflow"
	"github.com/comfygate/comfygate/workflow/corenodes"
)

type surveyCase struct {
	Name       string              `json:"name"`
	Prompt     json.RawMessage     `json:"prompt"`
	Result     string              `json:"result"`
	Error      string              `json:"error"`
	NodeErrors map[string][]string `json:"node_errors"`
}

// TestValidateSurvey checks that every workflow the real server ran passes
// validation, and that the rejected ones fail with the same message.
func TestValidateSurvey(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "validation", "survey.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []surveyCase
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	cat := captureCatalog(t)
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			g, err := workflow.ParseGraph(tc.Prompt, workflow.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			res := cat.Validate(g, workflow.ValidateOptions{InputFileExists: fileExists})
			if tc.Result != "rejected" {
				if !res.OK() || len(res.NodeErrors) > 0 {
					t.Fatalf("rejected: %+v %+v", res.Error, res.NodeErrors)
				}
				return
			}
			if res.OK() {
				t.Fatal("accepted, want rejected")
			}
			if res.Error.Message != tc.Error {
				t.Errorf("message = %q, want %q", res.Error.Message, tc.Error)
			}
			for id, lines := range tc.NodeErrors {
				var got []string
				for _, e := range res.NodeErrors[id].Errors {
					got = append(got, e.Message+": "+e.Details)
				}
				if len(got) != len(lines) || got[0] != lines[0] {
					t.Errorf("node %s errors = %q, want %q", id, got, lines)
				}
			}
		})
	}
}

func TestCatalogFromComfyDefs(t *testing.T) {
	var info comfy.ObjectInfo
	if err := json.Unmarshal(corenodes.ObjectInfo(corenodes.Models{}), &info); err != nil {
		t.Fatal(err)
	}
	cat, err := workflow.CatalogFromDefs(info.Map())
	if err != nil {
		t.Fatal(err)
	}
	blur, ok := cat.Class("ImageBlur")
	if !ok || !blur.V3 || len(blur.Inputs) != 3 || blur.Outputs[0].Type != "IMAGE" {
		t.Fatalf("ImageBlur = %+v", blur)
	}
	save, _ := cat.Class("SaveImage")
	if save.V3 || !save.OutputNode || len(save.Section(workflow.SectionHidden)) != 2 {
		t.Errorf("SaveImage = %+v", save)
	}
	ks, _ := cat.Class("KSampler")
	if seed, _ := ks.Input("seed"); seed == nil || seed.Options["max"] != json.Number("18446744073709551615") {
		t.Errorf("seed spec lost precision: %+v", seed)
	}
}
