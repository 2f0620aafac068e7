package fleet

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/comfygate/comfygate/comfy"
	"github.com/google/go-cmp/cmp"
)

// objectInfo builds a small /object_info with a checkpoint loader offering
// ckpts, a LoRA loader offering loras (newer COMBO style) and a few core
// nodes.
func objectInfo(tb testing.TB, ckpts, loras []string, extra ...string) comfy.ObjectInfo {
	tb.Helper()
	ck, _ := json.Marshal(ckpts)
	lo, _ := json.Marshal(loras)
	src := `{
	 "CheckpointLoaderSimple": {"input": {"required": {"ckpt_name": [` + string(ck) + `, {}]}}, "output": ["MODEL","CLIP","VAE"], "name": "CheckpointLoaderSimple"},
	 "LoraLoader": {"input": {"required": {"model": ["MODEL"], "lora_name": ["COMBO", {"options": ` + string(lo) + `}], "strength_model": ["FLOAT", {}]}}, "output": ["MODEL"], "name": "LoraLoader"},
	 "KSampler": {"input": {"required": {"model": ["MODEL"], "seed": ["INT", {}]}}, "output": ["LATENT"], "name": "KSampler"},
	 "SaveImage": {"input": {"required": {"images": ["IMAGE"], "filename_prefix": ["STRING", {}]}}, "output": [], "name": "SaveImage", "output_node": true}
	}`
	var info comfy.ObjectInfo
	if err := json.Unmarshal([]byte(src), &info); err != nil {
		tb.Fatal(err)
	}
	for _, class := range extra {
		info = append(info, comfy.NamedNodeDef{Class: class, Def: comfy.NodeDef{Name: class}})
	}
	return info
}

// testGraph is a checkpoint → LoRA → sampler → save graph.
func testGraph(ckpt, lora string) json.RawMessage {
	return json.RawMessage(`{
	 "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "` + ckpt + `"}},
	 "10": {"class_type": "LoraLoader", "inputs": {"model": ["4", 0], "lora_name": "` + lora + `", "strength_model": 1}},
	 "3": {"class_type": "KSampler", "inputs": {"model": ["10", 0], "seed": 18446744073709551615}},
	 "9": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": "x"}}
	}`)
}

func memBackend(tb testing.TB, id string, info comfy.ObjectInfo, maxInflight int) *Backend {
	tb.Helper()
	b := newBackend(BackendConfig{ID: id, URL: "http://" + id, MaxInflight: maxInflight}, nil, "c-"+id)
	b.health.Store(healthHealthy)
	b.driven.Store(true) // this replica holds its lease
	b.socketUp.Store(true)
	if info != nil {
		b.caps.Store(capabilitiesOf(info))
	}
	return b
}

func mustReq(tb testing.TB, graph json.RawMessage) *Requirements {
	tb.Helper()
	req, err := requirementsFromJSON(graph)
	if err != nil {
		tb.Fatal(err)
	}
	return req
}

func TestRequirements(t *testing.T) {
	g := json.RawMessage(`{
	 "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd15.safetensors"}},
	 "2": {"class_type": "LoadImage", "inputs": {"image": "comfygate/` + hex64 + `.png"}},
	 "3": {"class_type": "MyLoader", "inputs": {"unet_name": "flux.gguf", "weight_name": "fp8"}},
	 "4": {"class_type": "KSampler", "inputs": {"model": ["1", 0]}}
	}`)
	req := mustReq(t, g)
	want := []ModelRef{
		{NodeID: "1", Class: "CheckpointLoaderSimple", Input: "ckpt_name", Name: "sd15.safetensors"},
		{NodeID: "3", Class: "MyLoader", Input: "unet_name", Name: "flux.gguf"},
	}
	if diff := cmp.Diff(want, req.Models); diff != "" {
		t.Errorf("models (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"CheckpointLoaderSimple", "KSampler", "LoadImage", "MyLoader"}, req.Classes); diff != "" {
		t.Errorf("classes (-want +got):\n%s", diff)
	}
	if len(req.Inputs) != 1 || req.Inputs[0].Filename() != hex64+".png" {
		t.Errorf("staged inputs = %+v", req.Inputs)
	}
	// The sampler links to the loader: only source nodes make the prefix.
	other := mustReq(t, json.RawMessage(`{
	 "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd15.safetensors"}},
	 "2": {"class_type": "LoadImage", "inputs": {"image": "comfygate/`+hex64+`.png"}},
	 "3": {"class_type": "MyLoader", "inputs": {"unet_name": "flux.gguf", "weight_name": "fp8"}},
	 "4": {"class_type": "KSampler", "inputs": {"model": ["1", 0], "seed": 7}}
	}`))
	if req.PrefixKey == "" || req.PrefixKey != other.PrefixKey {
		t.Errorf("prefix keys differ for graphs with the same source nodes: %q vs %q", req.PrefixKey, other.PrefixKey)
	}
}

const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestCapabilityCheck(t *testing.T) {
	info := objectInfo(t, []string{"a.safetensors"}, []string{"l1.safetensors"})
	caps := capabilitiesOf(info)
	tests := []struct {
		name  string
		graph json.RawMessage
		want  string // "" for runnable
	}{
		{"everything present", testGraph("a.safetensors", "l1.safetensors"), ""},
		{"missing checkpoint", testGraph("b.safetensors", "l1.safetensors"), `model "b.safetensors" (ckpt_name of node 4) is not on any backend`},
		{"missing lora (COMBO style)", testGraph("a.safetensors", "zz.safetensors"), `model "zz.safetensors" (lora_name of node 10) is not on any backend`},
		{"missing class", json.RawMessage(`{"7": {"class_type": "Upscaler", "inputs": {}}}`), `node class "Upscaler" (node 7) is not on any backend`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := caps.check(mustReq(t, tt.graph))
			got := ""
			if err != nil {
				got = err.Error()
				if !errors.Is(err, ErrUnrunnable) {
					t.Errorf("error %v does not match ErrUnrunnable", err)
				}
			}
			if got != tt.want {
				t.Errorf("check = %q, want %q", got, tt.want)
			}
		})
	}
	if diff := cmp.Diff([]string{"a.safetensors"}, caps.models["ckpt_name"]); diff != "" {
		t.Errorf("models (-want +got):\n%s", diff)
	}
}

func TestPlace(t *testing.T) {
	now := time.Unix(1000, 0)
	withA := objectInfo(t, []string{"a.safetensors"}, []string{"l1.safetensors"})
	withB := objectInfo(t, []string{"b.safetensors"}, []string{"l1.safetensors"})
	reqA := mustReq(t, testGraph("a.safetensors", "l1.safetensors"))
	tests := []struct {
		name  string
		setup func() []*Backend
		want  string // "" for no placement
	}{
		{"only the backend with the model", func() []*Backend {
			return []*Backend{memBackend(t, "b", withB, 2), memBackend(t, "a", withA, 2)}
		}, "a"},
		{"nobody has the model", func() []*Backend {
			return []*Backend{memBackend(t, "b", withB, 2)}
		}, ""},
		{"unhealthy backends are skipped", func() []*Backend {
			a := memBackend(t, "a", withA, 2)
			a.health.Store(healthDegraded)
			return []*Backend{a}
		}, ""},
		{"draining backends are skipped", func() []*Backend {
			a := memBackend(t, "a", withA, 2)
			a.draining.Store(true)
			return []*Backend{a}
		}, ""},
		{"full backends are skipped", func() []*Backend {
			a := memBackend(t, "a", withA, 1)
			a.reserve(now)
			return []*Backend{a, memBackend(t, "a2", withA, 1)}
		}, "a2"},
		{"no catalog yet: not placed", func() []*Backend {
			return []*Backend{memBackend(t, "a", nil, 2)}
		}, ""},
		{"idle beats warm but busy", func() []*Backend {
			warm := memBackend(t, "warm", withA, 2)
			warm.setWarm(reqA)
			warm.reserve(now)
			return []*Backend{warm, memBackend(t, "idle", withA, 2)}
		}, "idle"},
		{"warm beats cold among idle", func() []*Backend {
			warm := memBackend(t, "warm", withA, 2)
			warm.setWarm(reqA)
			return []*Backend{memBackend(t, "cold", withA, 2), warm}
		}, "warm"},
		{"least recently used among equals", func() []*Backend {
			x, y := memBackend(t, "x", withA, 2), memBackend(t, "y", withA, 2)
			x.lastUsed.Store(now.UnixNano())
			return []*Backend{x, y}
		}, "y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := place(&Candidate{ID: "j", Req: reqA}, tt.setup())
			got := ""
			if b != nil {
				got = b.ID()
			}
			if got != tt.want {
				t.Errorf("placed on %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCheckRunnableAcrossBackends(t *testing.T) {
	bs := []*Backend{
		memBackend(t, "a", objectInfo(t, []string{"a.safetensors"}, []string{"l1.safetensors"}), 2),
		memBackend(t, "b", objectInfo(t, []string{"b.safetensors"}, nil, "Upscaler"), 2),
	}
	bs[1].health.Store(healthDown) // down backends still count
	// b lacks LoraLoader's lora list, but lora "" names no model file and
	// LoraLoader exists there, so b can run it.
	if err := checkRunnable(mustReq(t, testGraph("b.safetensors", "")), bs); err != nil {
		t.Errorf("graph runnable on b reported %v", err)
	}
	err := checkRunnable(mustReq(t, testGraph("c.safetensors", "l1.safetensors")), bs)
	if err == nil || err.Error() != `model "c.safetensors" (ckpt_name of node 4) is not on any backend` {
		t.Errorf("err = %v", err)
	}
	if err := checkRunnable(mustReq(t, testGraph("c.safetensors", "")), nil); err != nil {
		t.Errorf("without any catalog every graph passes; got %v", err)
	}
}

func TestMergeObjectInfo(t *testing.T) {
	merged := mergeObjectInfo([]comfy.ObjectInfo{
		objectInfo(t, []string{"a.safetensors"}, []string{"l1.safetensors"}),
		objectInfo(t, []string{"b.safetensors", "a.safetensors"}, []string{"l2.safetensors"}, "Upscaler"),
	})
	caps := capabilitiesOf(merged)
	want := map[string][]string{
		"ckpt_name": {"a.safetensors", "b.safetensors"},
		"lora_name": {"l1.safetensors", "l2.safetensors"},
	}
	if diff := cmp.Diff(want, caps.models); diff != "" {
		t.Errorf("merged models (-want +got):\n%s", diff)
	}
	if !caps.classes["Upscaler"] || len(merged) != 5 {
		t.Errorf("merged classes: %d, Upscaler=%v", len(merged), caps.classes["Upscaler"])
	}
}
