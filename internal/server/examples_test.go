package server

import (
	"fmt"
	"slices"
	"testing"

	"github.com/comfygate/comfygate/workflow"
	"github.com/comfygate/comfygate/workflow/corenodes"
)

// TestExamplesValidate checks that every example runs on a backend with
// the simulator's default models, and that each exposes the parameters
// the README uses (the tour's list for txt2img; the image and denoise of
// `comfygate run img2img --image image=./cat.png -p denoise=0.6`): a
// broken example would break the README.
func TestExamplesValidate(t *testing.T) {
	cat, err := corenodes.Catalog(corenodes.DefaultModels())
	if err != nil {
		t.Fatal(err)
	}
	list, err := Examples()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"txt2img": {"prompt", "negative_prompt", "seed", "steps", "cfg", "sampler_name", "scheduler",
			"denoise", "width", "height", "batch_size", "checkpoint"},
		"img2img": {"prompt", "negative_prompt", "seed", "steps", "cfg", "sampler_name", "scheduler",
			"denoise", "checkpoint", "image"},
	}
	var names []string
	for _, ex := range list {
		names = append(names, ex.Name)
	}
	if !slices.Equal(names, []string{"img2img", "txt2img"}) {
		t.Fatalf("examples %v, want img2img and txt2img", names)
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
			var got []string
			types := map[string]string{}
			for _, p := range workflow.DetectParams(g, cat) {
				got = append(got, p.Name)
				types[p.Name] = p.Type
			}
			if !slices.Equal(got, want[ex.Name]) {
				t.Fatalf("detected parameters %v, want %v", got, want[ex.Name])
			}
			if ex.Name == "img2img" && types["image"] != workflow.TypeImage {
				t.Errorf("img2img's image is a %q parameter, want %q", types["image"], workflow.TypeImage)
			}
		})
	}
}

// exampleBody is the graph of the example called name.
func exampleBody(name string) ([]byte, error) {
	list, err := Examples()
	if err != nil {
		return nil, err
	}
	for _, ex := range list {
		if ex.Name == name {
			return ex.Body, nil
		}
	}
	return nil, fmt.Errorf("no example %q", name)
}
