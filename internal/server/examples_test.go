package server

import (
	"slices"
	"testing"

	"github.com/comfygate/comfygate/workflow"
	"github.com/comfygate/comfygate/workflow/corenodes"
)

// TestExamplesValidate checks that every example runs on a backend with
// the simulator's default models, and that the txt2img example exposes the
// parameters the README's tour names: a broken example would break the
// tour.
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
			g, err := workflow.ParseGraph(ex.Body, workflow.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			res := cat.Validate(g, workflow.ValidateOptions{})
			if res.Error != nil || len(res.NodeErrors) > 0 {
				t.Fatalf("validate: %+v %+v", res.Error, res.NodeErrors)
			}
			if ex.Name != "txt2img" {
				return
			}
			var names []string
			for _, p := range workflow.DetectParams(g, cat) {
				names = append(names, p.Name)
			}
			want := []string{"prompt", "negative_prompt", "seed", "steps", "cfg", "sampler_name", "scheduler",
				"denoise", "width", "height", "batch_size", "checkpoint"}
			if !slices.Equal(names, want) {
				t.Fatalf("detected parameters %v, want %v", names, want)
			}
		})
	}
}
