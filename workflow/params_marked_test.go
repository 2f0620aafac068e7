package workflow_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/comfygate/comfygate/workflow"
)

// modelFree is the kind of graph a test rig or an image utility runs: no
// checkpoint, no sampler, nothing the built-in rules know.
const modelFree = `{
  "1": {"class_type": "EmptyImage", "inputs": {"width": 512, "height": 256, "batch_size": 1, "color": 0}, "_meta": {"title": "Canvas"}},
  "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}, "_meta": {"title": "Invert Image"}},
  "3": {"class_type": "ImageScaleBy", "inputs": {"image": ["2", 0], "upscale_method": "bilinear", "scale_by": 2.0}, "_meta": {"title": "$scale.scale_by"}},
  "4": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": "utility"}, "_meta": {"title": "$prefix"}}
}`

func TestDetectParamsMarkedAndTitled(t *testing.T) {
	t.Parallel()
	g := parse(t, modelFree)
	for _, tc := range []struct {
		name string
		cat  *workflow.Catalog
		want []string
	}{
		{"with the catalog", defaultCatalog(t), []string{"canvas_width", "canvas_height", "canvas_batch_size", "canvas_color", "scale", "prefix"}},
		// Without it "Canvas" might be EmptyImage's default title: only marks count.
		{"without a catalog", nil, []string{"scale", "prefix"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			params := workflow.DetectParams(g, tc.cat)
			want := tc.want
			if got := names(params); !slices.Equal(got, want) {
				t.Fatalf("names = %q, want %q", got, want)
			}
			byName := map[string]workflow.Param{}
			for _, p := range params {
				byName[p.Name] = p
			}
			if p := byName["scale"]; p.Target != (workflow.Target{NodeID: "3", Input: "scale_by"}) || p.Type != workflow.TypeNumber || p.Default != json.Number("2.0") {
				t.Errorf("scale = %+v", p)
			}
			if p := byName["prefix"]; p.Target.Input != "filename_prefix" || p.Type != workflow.TypeString {
				t.Errorf("prefix = %+v", p)
			}
			if p, ok := byName["canvas_width"]; ok && p.Type != workflow.TypeInteger {
				t.Errorf("canvas_width = %+v", p)
			}
		})
	}
	// The catalog adds bounds.
	for _, p := range workflow.DetectParams(g, defaultCatalog(t)) {
		if p.Name == "canvas_width" && (p.Minimum != "1" || p.Maximum == "") {
			t.Errorf("canvas_width bounds = %s..%s", p.Minimum, p.Maximum)
		}
	}
}

func TestDetectParamsMarks(t *testing.T) {
	t.Parallel()
	cat := defaultCatalog(t)
	for _, tc := range []struct {
		name, title string
		want        []string
	}{
		{"one widget named", "$level.scale_by", []string{"level"}},
		{"all widgets", "$resize", []string{"resize_upscale_method", "resize_scale_by"}},
		{"unknown input", "$level.nope", nil},
		{"name slugged", "$Big Scale", []string{"big_scale_upscale_method", "big_scale_scale_by"}},
		{"untitled", "Upscale Image By", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := parse(t, `{"1": {"class_type": "LoadImage", "inputs": {"image": "a.png"}, "_meta": {"title": "Load Image"}},
			  "2": {"class_type": "ImageScaleBy", "inputs": {"image": ["1", 0], "upscale_method": "bilinear", "scale_by": 2}, "_meta": {"title": "`+tc.title+`"}}}`)
			got := names(workflow.DetectParams(g, cat))
			want := append([]string{"image"}, tc.want...)
			if !slices.Equal(got, want) {
				t.Errorf("names = %q, want %q", got, want)
			}
		})
	}
}
