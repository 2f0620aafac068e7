package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/workflow"
)

// serverSchema is the parameter schema the server publishes for params,
// made by the same function.
func serverSchema(t *testing.T, params ...workflow.Param) api.Workflow {
	t.Helper()
	raw, err := json.Marshal(workflow.Schema(params))
	if err != nil {
		t.Fatal(err)
	}
	wf := api.Workflow{Name: "txt2img"}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber() // as the SDK decodes it
	if err := dec.Decode(&wf.Schema); err != nil {
		t.Fatal(err)
	}
	return wf
}

func TestParamTypesValue(t *testing.T) {
	wf := serverSchema(t,
		workflow.Param{Name: "prompt", Type: workflow.TypeString},
		workflow.Param{Name: "image", Type: workflow.TypeImage},
		workflow.Param{Name: "seed", Type: workflow.TypeInteger, Minimum: "0", Maximum: "18446744073709551615"},
		workflow.Param{Name: "cfg", Type: workflow.TypeNumber},
		workflow.Param{Name: "tiled", Type: workflow.TypeBoolean},
	)
	pt := typesOf(wf)
	for _, tc := range []struct {
		param, raw string
		want       any
		err        string
	}{
		{"prompt", "1984", "1984", ""},
		{"prompt", "true", "true", ""},
		{"prompt", `"quoted"`, `"quoted"`, ""},
		{"prompt", " padded ", " padded ", ""},
		{"prompt", "", "", ""},
		{"image", "123", "123", ""},
		{"seed", "18446744073709551615", json.Number("18446744073709551615"), ""},
		{"seed", "+7", json.Number("7"), ""},
		{"seed", " -1 ", json.Number("-1"), ""},
		{"seed", "2.5", nil, "-p seed=2.5: seed of workflow txt2img takes a whole number"},
		{"seed", "abc", nil, "-p seed=abc: seed of workflow txt2img takes a whole number"},
		{"seed", "0x10", nil, "takes a whole number"},
		{"cfg", "7.5", json.Number("7.5"), ""},
		{"cfg", "8", json.Number("8"), ""},
		{"cfg", ".5", json.Number("0.5"), ""},
		{"cfg", "1e3", json.Number("1e3"), ""},
		{"cfg", "high", nil, "-p cfg=high: cfg of workflow txt2img takes a number"},
		{"cfg", "NaN", nil, "takes a number"},
		{"cfg", "Inf", nil, "takes a number"},
		{"cfg", "0x1p3", nil, "takes a number"},
		{"tiled", "true", true, ""},
		{"tiled", "0", false, ""},
		{"tiled", "maybe", nil, "-p tiled=maybe: tiled of workflow txt2img takes true or false"},
		{"promt", "a fox", nil, `-p promt: workflow txt2img has no parameter "promt" (it has: cfg, image, prompt, seed, tiled)`},
	} {
		t.Run(tc.param+"="+tc.raw, func(t *testing.T) {
			got, err := pt.value(tc.param, tc.raw)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestParamTypesOpenSchema: a schema that allows other properties lets
// unknown names through, read as JSON when they are JSON.
func TestParamTypesOpenSchema(t *testing.T) {
	pt := typesOf(api.Workflow{Name: "w", Schema: map[string]any{"type": "object", "properties": map[string]any{
		"steps": map[string]any{"type": []any{"null", "integer"}},
	}}})
	if v, err := pt.value("steps", "20"); err != nil || v != json.Number("20") {
		t.Errorf("steps = %v, %v; want 20 from the list type", v, err)
	}
	if v, err := pt.value("extra", "[1]"); err != nil || !cmp.Equal(v, []any{json.Number("1")}) {
		t.Errorf("extra = %v, %v; want the JSON list", v, err)
	}
	empty := typesOf(api.Workflow{Name: "w", Schema: map[string]any{"additionalProperties": false}})
	if err := empty.check("--image", "image"); err == nil || !strings.Contains(err.Error(), "it has none") {
		t.Errorf("err = %v, want one saying the workflow has no parameters", err)
	}
}
