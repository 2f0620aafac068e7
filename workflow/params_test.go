package workflow_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/comfygate/comfygate/workflow"
)

const textToImage = `{
  "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "v1-5-pruned-emaonly.safetensors"}, "_meta": {"title": "Load Checkpoint"}},
  "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 512, "batch_size": 1}},
  "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["4", 1]}},
  "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a red fox in snow", "clip": ["4", 1]}},
  "3": {"class_type": "KSampler", "inputs": {"seed": 8566257, "steps": 20, "cfg": 8, "sampler_name": "euler", "scheduler": "normal", "denoise": 1, "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]}},
  "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
  "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "ComfyUI", "images": ["8", 0]}}
}`

func parse(tb testing.TB, s string) workflow.Graph {
	tb.Helper()
	g, err := workflow.ParseGraph([]byte(s), workflow.Limits{})
	if err != nil {
		tb.Fatal(err)
	}
	return g
}

func names(params []workflow.Param) []string {
	var out []string
	for _, p := range params {
		out = append(out, p.Name)
	}
	return out
}

func TestDetectParamsTextToImage(t *testing.T) {
	cat := defaultCatalog(t)
	params := workflow.DetectParams(parse(t, textToImage), cat)
	want := []string{"prompt", "negative_prompt", "seed", "steps", "cfg", "sampler_name", "scheduler", "denoise",
		"width", "height", "batch_size", "checkpoint"}
	if got := names(params); !slices.Equal(got, want) {
		t.Fatalf("names = %q\nwant %q", got, want)
	}
	// The negative prompt is node 7 although it comes first in the graph.
	if params[0].Target != (workflow.Target{NodeID: "6", Input: "text"}) || params[1].Target.NodeID != "7" {
		t.Errorf("prompt targets = %v, %v", params[0].Target, params[1].Target)
	}
	golden(t, "params-text-to-image.json", params)
	golden(t, "schema-text-to-image.json", workflow.Schema(params))
}

func TestDetectParamsTitlesAndCollisions(t *testing.T) {
	g := parse(t, `{
	  "1": {"class_type": "LoadImage", "inputs": {"image": "a.png"}},
	  "2": {"class_type": "LoadImage", "inputs": {"image": "b.png"}},
	  "3": {"class_type": "LoadImage", "inputs": {"image": "c.png"}, "_meta": {"title": "Style reference!"}},
	  "4": {"class_type": "PrimitiveInt", "inputs": {"value": 3}, "_meta": {"title": "Load Image"}},
	  "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": ["4", 0]}, "_meta": {"title": "Canvas"}}
	}`)
	got := names(workflow.DetectParams(g, defaultCatalog(t)))
	want := []string{"canvas_width", "canvas_height", "image", "image_2", "style_reference", "load_image"}
	if !slices.Equal(got, want) {
		t.Errorf("names = %q, want %q", got, want)
	}
}

func TestBind(t *testing.T) {
	cat := defaultCatalog(t)
	g := parse(t, textToImage)
	params := workflow.DetectParams(g, cat)
	out, err := workflow.Bind(g, params, map[string]any{
		"seed": json.Number("18446744073709551615"), "steps": 30.0, "prompt": "a cat", "sampler_name": "dpmpp_2m",
	})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(out["3"])
	want := `{"class_type":"KSampler","inputs":{"seed":18446744073709551615,"steps":30,"cfg":8,"sampler_name":"dpmpp_2m","scheduler":"normal","denoise":1,"model":["4",0],"positive":["6",0],"negative":["7",0],"latent_image":["5",0]}}`
	if string(raw) != want {
		t.Errorf("bound inputs:\n got %s\nwant %s", raw, want)
	}
	if out["6"].Inputs["text"] != "a cat" || g["6"].Inputs["text"] != "a red fox in snow" {
		t.Error("Bind must set the prompt on a copy")
	}
	if res := cat.Validate(out, workflow.ValidateOptions{}); !res.OK() {
		t.Errorf("bound graph invalid: %+v", res.NodeErrors)
	}
}

func TestBindErrors(t *testing.T) {
	cat := defaultCatalog(t)
	g := parse(t, textToImage)
	params := workflow.DetectParams(g, cat)
	params = append(params, workflow.Param{Name: "photo", Type: workflow.TypeImage, Target: workflow.Target{NodeID: "99", Input: "image"}})
	cases := []struct {
		name  string
		value map[string]any
		want  string
	}{
		{"above max", map[string]any{"steps": 10001}, "params.steps: must be ≤ 10000"},
		{"below min", map[string]any{"seed": json.Number("-1")}, "params.seed: must be ≥ 0"},
		{"seed too big", map[string]any{"seed": json.Number("18446744073709551616")}, "params.seed: must be ≤ 18446744073709551615"},
		{"fraction", map[string]any{"steps": 2.5}, "params.steps: must be an integer"},
		{"wrong type", map[string]any{"cfg": "high"}, "params.cfg: must be a number"},
		{"enum", map[string]any{"scheduler": "nope"}, `params.scheduler: must be one of "simple", "sgm_uniform", "karras", "exponential", "ddim_uniform", "beta", "normal", "linear_quadratic", "kl_optimal"`},
		{"unknown", map[string]any{"style": "x"}, "params.style: unknown parameter"},
		{"traversal", map[string]any{"photo": "../../etc/passwd"}, "params.photo: must be a file name inside the input directory"},
		{"missing node", map[string]any{"photo": "x.png"}, "params.photo: targets node 99, which is not in the workflow"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := workflow.Bind(g, params, tc.value)
			var pe *workflow.ParamError
			if !errors.As(err, &pe) || err.Error() != tc.want {
				t.Errorf("err = %v\nwant %s", err, tc.want)
			}
		})
	}
}

func TestApplyOverrides(t *testing.T) {
	g := parse(t, textToImage)
	out, err := workflow.ApplyOverrides(g, map[string]workflow.NodeOverride{"3": {Inputs: map[string]any{"steps": json.Number("5")}}})
	if err != nil || out["3"].Inputs["steps"] != json.Number("5") || g["3"].Inputs["steps"] != json.Number("20") {
		t.Errorf("override: %v %v", err, out["3"].Inputs["steps"])
	}
	_, err = workflow.ApplyOverrides(g, map[string]workflow.NodeOverride{"42": {Inputs: map[string]any{"x": 1}}})
	var oe *workflow.OverrideError
	if !errors.As(err, &oe) || err.Error() != "overrides.42: no such node in the workflow" {
		t.Errorf("err = %v", err)
	}
	_, err = workflow.ApplyOverrides(g, map[string]workflow.NodeOverride{"3": {Inputs: map[string]any{"x": struct{}{}}}})
	if !errors.As(err, &oe) || oe.Input != "x" {
		t.Errorf("err = %v", err)
	}
}

func TestParseParamSpec(t *testing.T) {
	yamlSpec := `
seed:
  target: 3.inputs.seed
  type: integer
  default: 42
  min: 0
  max: 18446744073709551615
prompt: {target: "6.text", type: string, description: What to draw}
sampler: {target: 3.inputs.sampler_name, type: string, enum: [euler, dpmpp_2m], default: euler}
`
	jsonSpec := `{"seed": {"target": "3.inputs.seed", "type": "integer", "default": 42, "minimum": 0, "maximum": 18446744073709551615},
	  "prompt": {"target": "6.text", "type": "string", "description": "What to draw"},
	  "sampler": {"target": "3.inputs.sampler_name", "type": "string", "enum": ["euler", "dpmpp_2m"], "default": "euler"}}`
	a, err := workflow.ParseParamSpec([]byte(yamlSpec))
	if err != nil {
		t.Fatal(err)
	}
	b, err := workflow.ParseParamSpec([]byte(jsonSpec))
	if err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Errorf("YAML and JSON differ:\n%s\n%s", ja, jb)
	}
	golden(t, "param-spec.json", a)
}

func TestParseParamSpecErrors(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"no target", `x: {type: string}`, `params.x: target: required ("<node>.inputs.<input>")`},
		{"bad type", `x: {target: 1.a, type: float}`, "params.x: type: must be string, integer, number, boolean or image"},
		{"unknown field", `x: {target: 1.a, type: string, colour: red}`, `params.x: unknown field "colour"`},
		{"bad default", `x: {target: 1.a, type: integer, max: 5, default: 6}`, "params.x: default: must be ≤ 5"},
		{"bad name", `9x: {target: 1.a, type: string}`, "params.9x: name must be letters, digits and _, not starting with a digit"},
		{"bad target", `x: {target: nodot, type: string}`, `params.x: target: "nodot" is not "<node>.inputs.<input>"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := workflow.ParseParamSpec([]byte(tc.in))
			if err == nil || err.Error() != tc.want {
				t.Errorf("err = %v\nwant %s", err, tc.want)
			}
		})
	}
}

func FuzzParseParamSpec(f *testing.F) {
	f.Add([]byte(`seed: {target: 3.inputs.seed, type: integer, default: 42, min: 0}`))
	f.Add([]byte(`{"p": {"target": "6.text", "type": "string", "enum": ["a", 1]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		params, err := workflow.ParseParamSpec(data)
		if err != nil {
			return
		}
		_ = workflow.Schema(params)
		if _, err := json.Marshal(params); err != nil {
			t.Fatalf("marshal: %v", err)
		}
	})
}

func TestVersion(t *testing.T) {
	a := parse(t, textToImage)
	b := parse(t, `{"9": {"inputs": {"images": ["8", 0], "filename_prefix": "ComfyUI"}, "class_type": "SaveImage"}}`)
	for id, n := range a {
		if id != "9" {
			b[id] = n
		}
	}
	if workflow.Version(a) != workflow.Version(b) {
		t.Error("key order changed the version")
	}
	c := a.Clone()
	c["3"].Inputs["steps"] = json.Number("21")
	if workflow.Version(a) == workflow.Version(c) {
		t.Error("a changed input kept the version")
	}
	if v := workflow.Version(a); len(v) != len("sha256:")+64 {
		t.Errorf("version = %q", v)
	}
}
