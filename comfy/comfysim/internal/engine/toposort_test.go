package engine

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/comfygate/comfygate/workflow"
	"github.com/comfygate/comfygate/workflow/corenodes"
)

const textToImage = `{"3": {"class_type": "KSampler", "inputs": {"seed": 42, "steps": 20, "cfg": 8, "sampler_name": "euler", "scheduler": "normal", "denoise": 1, "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]}},
 "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "v1-5-pruned-emaonly.safetensors"}},
 "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 256, "height": 384, "batch_size": 1}},
 "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a photo of a cat", "clip": ["4", 1]}},
 "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["4", 1]}},
 "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
 "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "ComfyUI", "images": ["8", 0]}}}`

const branches = `{"1": {"class_type": "EmptyImage", "inputs": {}},
 "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
 "3": {"class_type": "PreviewImage", "inputs": {"images": ["2", 0]}},
 "4": {"class_type": "ImageBlur", "inputs": {"image": ["1", 0]}},
 "5": {"class_type": "ImageScale", "inputs": {"image": ["4", 0]}},
 "6": {"class_type": "SaveImage", "inputs": {"images": ["5", 0]}},
 "7": {"class_type": "EmptyImage", "inputs": {}},
 "8": {"class_type": "SaveImage", "inputs": {"images": ["7", 0]}}}`

// The expected orders come from running comfy_execution/graph.py's
// ExecutionList (ComfyUI 0.3.64) on the same graphs with an empty cache.
func TestExecutionOrderMatchesComfyUI(t *testing.T) {
	cat, err := corenodes.Catalog(corenodes.Models{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		graph   string
		outputs []string
		want    []string
	}{
		{"text to image", textToImage, []string{"9"}, []string{"4", "5", "7", "6", "3", "8", "9"}},
		{"three branches", branches, []string{"3", "6", "8"}, []string{"7", "8", "1", "2", "3", "4", "5", "6"}},
		{"three branches reversed", branches, []string{"8", "6", "3"}, []string{"7", "8", "1", "2", "3", "4", "5", "6"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := workflow.ParseGraph([]byte(tt.graph), workflow.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			p := newPrompt(g, cat)
			l := newExecutionList(p, func(string) bool { return false })
			for _, o := range tt.outputs {
				l.addNode(o)
			}
			var got []string
			for !l.empty() {
				id, ok := l.stage()
				if !ok {
					t.Fatal("cycle")
				}
				got = append(got, id)
				l.complete()
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("order (-want +got):\n%s", d)
			}
		})
	}
}

func TestCachedNodesAreNotScheduled(t *testing.T) {
	cat, err := corenodes.Catalog(corenodes.Models{})
	if err != nil {
		t.Fatal(err)
	}
	g, err := workflow.ParseGraph([]byte(textToImage), workflow.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	p := newPrompt(g, cat)
	cached := map[string]bool{"4": true, "5": true, "6": true, "7": true}
	l := newExecutionList(p, func(id string) bool { return cached[id] })
	l.addNode("9")
	var got []string
	for !l.empty() {
		id, _ := l.stage()
		got = append(got, id)
		l.complete()
	}
	if d := cmp.Diff([]string{"3", "8", "9"}, got); d != "" {
		t.Errorf("order (-want +got):\n%s", d)
	}
}

func TestSignatureIgnoresNodeIDButNotInputs(t *testing.T) {
	cat, err := corenodes.Catalog(corenodes.Models{})
	if err != nil {
		t.Fatal(err)
	}
	parse := func(s string) *prompt {
		g, err := workflow.ParseGraph([]byte(s), workflow.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		return newPrompt(g, cat)
	}
	key := func(p *prompt, id string) string {
		s := &signer{p: p, isChanged: func(*node) string { return "False" }, immediate: map[string]string{}}
		return s.signature(id)
	}
	a := parse(`{"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0}}, "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}}}`)
	b := parse(`{"7": {"class_type": "EmptyImage", "inputs": {"color": 0, "batch_size": 1.0, "height": 8, "width": 8}}, "9": {"class_type": "ImageInvert", "inputs": {"image": ["7", 0]}}}`)
	c := parse(`{"1": {"class_type": "EmptyImage", "inputs": {"width": 9, "height": 8, "batch_size": 1, "color": 0}}, "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}}}`)
	if key(a, "2") != key(b, "9") {
		t.Error("same graph under other ids (and 1 vs 1.0) must share a cache key")
	}
	if key(a, "2") == key(c, "2") {
		t.Error("an upstream change must change the key")
	}
}
