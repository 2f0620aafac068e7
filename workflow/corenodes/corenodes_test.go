package corenodes_test

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/comfygate/comfygate/workflow"
	"github.com/comfygate/comfygate/workflow/corenodes"
)

func empty() corenodes.Models {
	e := []string{}
	return corenodes.Models{Checkpoints: e, Configs: e, Loras: e, VAE: e, TextEncoders: e,
		DiffusionModels: e, ControlNets: e, StyleModels: e, ClipVision: e, Gligen: e,
		Hypernetworks: e, Photomaker: e, ModelPatches: e, AudioEncoders: e, Inputs: e, InputDirs: e}
}

func TestObjectInfoWithoutFilesIsTheDump(t *testing.T) {
	dump, err := os.ReadFile("object_info.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(corenodes.ObjectInfo(empty()), dump) {
		t.Error("ObjectInfo with no files differs from the embedded dump")
	}
}

func TestObjectInfoInjectsFiles(t *testing.T) {
	m := empty()
	m.Checkpoints = []string{"b.safetensors", "a.safetensors"}
	m.VAE = []string{"v.pt"}
	m.Inputs = []string{"z.png", "clip.mp4", "x.latent", "notes.txt"}
	cat, err := corenodes.Catalog(m)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		class, input string
		want         []string
	}{
		{"CheckpointLoaderSimple", "ckpt_name", []string{"a.safetensors", "b.safetensors"}},
		{"VAELoader", "vae_name", []string{"v.pt", "pixel_space"}},
		{"LoadImage", "image", []string{"z.png"}},
		{"LoadImageMask", "image", []string{"clip.mp4", "notes.txt", "x.latent", "z.png"}},
		{"LoadVideo", "file", []string{"clip.mp4"}},
		{"LoadLatent", "latent", []string{"x.latent"}},
		{"TrainLoraNode", "existing_lora", []string{"[None]"}},
	}
	for _, tc := range cases {
		cls, ok := cat.Class(tc.class)
		if !ok {
			t.Fatalf("no class %s", tc.class)
		}
		in, _ := cls.Input(tc.input)
		var got []string
		for _, v := range in.Values {
			got = append(got, v.(string))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s.%s = %q, want %q", tc.class, tc.input, got, tc.want)
		}
	}
}

func TestDefaultModels(t *testing.T) {
	cat, err := corenodes.Catalog(corenodes.Models{})
	if err != nil {
		t.Fatal(err)
	}
	cls, _ := cat.Class("CheckpointLoaderSimple")
	in, _ := cls.Input("ckpt_name")
	if !slices.Contains(in.Values, any("v1-5-pruned-emaonly.safetensors")) || !slices.Contains(in.Values, any("sd_xl_base_1.0.safetensors")) {
		t.Errorf("default checkpoints = %v", in.Values)
	}
	if cat.Len() != 376 {
		t.Errorf("%d classes, want 376", cat.Len())
	}
}

func TestKSamplerDefinition(t *testing.T) {
	cat, _ := corenodes.Catalog(corenodes.Models{})
	ks, _ := cat.Class("KSampler")
	seed, _ := ks.Input("seed")
	if max, _ := seed.Number("max"); max != "18446744073709551615" || !seed.Flag("control_after_generate") {
		t.Errorf("seed max = %s", max)
	}
	sampler, _ := ks.Input("sampler_name")
	sched, _ := ks.Input("scheduler")
	if len(sampler.Values) != 42 || sampler.Values[0] != "euler" || len(sched.Values) != 9 || sched.Values[0] != "simple" {
		t.Errorf("samplers %d %v, schedulers %v", len(sampler.Values), sampler.Values[0], sched.Values)
	}
}

const textToImage = `{
  "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "v1-5-pruned-emaonly.safetensors"}, "_meta": {"title": "Load Checkpoint"}},
  "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 512, "batch_size": 1}},
  "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a red fox in snow", "clip": ["4", 1]}},
  "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["4", 1]}},
  "3": {"class_type": "KSampler", "inputs": {"seed": 8566257, "steps": 20, "cfg": 8, "sampler_name": "euler", "scheduler": "normal", "denoise": 1, "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]}},
  "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
  "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "ComfyUI", "images": ["8", 0]}}
}`

func TestTextToImageValidates(t *testing.T) {
	cat, _ := corenodes.Catalog(corenodes.Models{})
	g, err := workflow.ParseGraph([]byte(textToImage), workflow.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	res := cat.Validate(g, workflow.ValidateOptions{})
	if !res.OK() || len(res.NodeErrors) != 0 || !slices.Equal(res.Outputs, []string{"9"}) {
		t.Fatalf("not OK: %+v %+v %v", res.Error, res.NodeErrors, res.Outputs)
	}
	// cfg and denoise are FLOAT inputs: ComfyUI stores them as floats.
	if cfg := res.Graph["3"].Inputs["cfg"]; cfg != json.Number("8.0") {
		t.Errorf("cfg = %v, want 8.0", cfg)
	}
	if g["3"].Inputs["cfg"] != json.Number("8") {
		t.Error("Validate modified its input graph")
	}
}

func TestTextToImageBadVariants(t *testing.T) {
	cat, _ := corenodes.Catalog(corenodes.Models{})
	cases := []struct {
		name          string
		node, input   string
		value         any
		wantNode      string
		wantType      string
		wantDetailsIn string
	}{
		{"unknown checkpoint", "4", "ckpt_name", "nope.safetensors", "4", "value_not_in_list",
			"ckpt_name: 'nope.safetensors' not in ['sd_xl_base_1.0.safetensors', 'v1-5-pruned-emaonly.safetensors']"},
		{"steps zero", "3", "steps", json.Number("0"), "3", "value_smaller_than_min", "steps"},
		{"unknown sampler", "3", "sampler_name", "bogus", "3", "value_not_in_list", "(list of length 42)"},
		{"seed too big", "3", "seed", json.Number("18446744073709551616"), "3", "value_bigger_than_max", "seed"},
		{"missing positive", "3", "positive", nil, "3", "required_input_missing", "positive"},
		{"vae from clip", "8", "vae", workflow.Link("4", 1), "8", "return_type_mismatch",
			"vae, received_type(CLIP) mismatch input_type(VAE)"},
		{"text not a string", "6", "text", map[string]any{"__value__": []any{"a"}}, "", "", ""},
		{"width as string", "5", "width", "512", "", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, _ := workflow.ParseGraph([]byte(textToImage), workflow.Limits{})
			if tc.value == nil {
				delete(g[tc.node].Inputs, tc.input)
			} else {
				g[tc.node].Inputs[tc.input] = tc.value
			}
			res := cat.Validate(g, workflow.ValidateOptions{})
			if tc.wantType == "" {
				if !res.OK() {
					t.Fatalf("rejected: %+v", res.NodeErrors)
				}
				return
			}
			if res.OK() || res.Error.Type != "prompt_outputs_failed_validation" {
				t.Fatalf("accepted or wrong error: %+v", res.Error)
			}
			ne, ok := res.NodeErrors[tc.wantNode]
			if !ok || len(ne.Errors) != 1 || ne.Errors[0].Type != tc.wantType ||
				!strings.Contains(ne.Errors[0].Details, tc.wantDetailsIn) || !slices.Equal(ne.DependentOutputs, []string{"9"}) {
				t.Errorf("node errors = %+v", res.NodeErrors)
			}
		})
	}
}
