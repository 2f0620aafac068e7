package engine

import (
	"context"
	"strings"
	"testing"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/comfy/comfysim/internal/tensor"
	"github.com/comfygate/comfygate/workflow"
	"github.com/comfygate/comfygate/workflow/corenodes"
)

// FuzzExecuteValidGraph runs every graph that passes validation. A graph
// that validates must run as ComfyUI would: to success or to an exception
// ComfyUI raises too, never into a simulator bug (a recovered panic shows
// up as "comfysim: internal error").
func FuzzExecuteValidGraph(f *testing.F) {
	for _, seed := range []string{
		tinyGraph,
		`{"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0}},
		  "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", -1], "x": ["1", -7]}},
		  "3": {"class_type": "PreviewImage", "inputs": {"images": ["2", true]}}}`,
		`{"1": {"class_type": "PrimitiveString", "inputs": {"value": "x"}}, "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}}}`,
		`{"1": {"class_type": "EmptyLatentImage", "inputs": {"width": 16, "height": 16, "batch_size": 1}},
		  "2": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "v1-5-pruned-emaonly.safetensors"}},
		  "3": {"class_type": "VAEDecode", "inputs": {"samples": ["1", 0], "vae": ["2", -1]}},
		  "4": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": "f"}}}`,
	} {
		f.Add([]byte(seed))
	}
	cat, err := corenodes.Catalog(corenodes.Models{})
	if err != nil {
		f.Fatal(err)
	}
	dir := f.TempDir()
	e := New(Config{
		Catalog: cat, Dir: func(string) string { return dir },
		Limits: tensor.Limits{MaxSide: 64, MaxPixels: 1 << 14},
		Knobs:  quietKnobs{}, Emitter: &fakeEmitter{EventFunc: func(comfy.Event) {}},
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := workflow.ParseGraph(data, workflow.Limits{})
		if err != nil {
			return
		}
		res := cat.Validate(g, workflow.ValidateOptions{})
		if res.Err != nil || !res.OK() {
			return
		}
		out := e.Execute(context.Background(), &Job{PromptID: "p", Graph: res.Graph, Outputs: res.Outputs})
		for _, m := range out.Messages {
			if m.Event == "execution_error" && strings.Contains(string(m.Data), "comfysim: internal error") {
				t.Fatalf("simulator bug on a valid graph: %s", m.Data)
			}
		}
	})
}
