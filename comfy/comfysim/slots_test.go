package comfysim_test

import (
	"bytes"
	"image"
	"image/png"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/comfygate/comfygate/comfy/comfysim"
)

// basicWith is the basic fixture graph with ImageInvert's inputs replaced.
func basicWith(t *testing.T, invertInputs map[string]any) map[string]any {
	t.Helper()
	g := workflow(t, "basic")
	g["2"].(map[string]any)["inputs"] = invertInputs
	return g
}

func samePixels(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			r1, g1, b1, a1 := a.At(x, y).RGBA()
			r2, g2, b2, a2 := b.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
				return false
			}
		}
	}
	return true
}

// Python indexes the upstream node's output list with the link's slot: -1
// is the last output and a bool is an int; validation checks declared
// inputs' slots the same way, so such graphs run on ComfyUI.
func TestLinkSlotsIndexLikePython(t *testing.T) {
	t.Parallel()
	s := start(t, comfysim.Options{})
	want := savedImage(t, s, workflow(t, "basic"), "4")
	tests := []struct {
		name string
		slot any
	}{
		{"minus one is the last output", -1},
		{"false is zero", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := savedImage(t, s, basicWith(t, map[string]any{"image": []any{"1", tt.slot}}), "4")
			if !samePixels(want, got) {
				t.Error("output differs from the graph linked to slot 0")
			}
		})
	}

	// With three outputs, -1 is the VAE (slot 2) and true the CLIP (slot 1).
	ref := textToImage(64, 64, 1, 2, 7)
	indexed := textToImage(64, 64, 1, 2, 7)
	indexed["8"].(map[string]any)["inputs"].(map[string]any)["vae"] = []any{"4", -1}
	indexed["6"].(map[string]any)["inputs"].(map[string]any)["clip"] = []any{"4", true}
	indexed["7"].(map[string]any)["inputs"].(map[string]any)["clip"] = []any{"4", -2}
	if !samePixels(savedImage(t, s, ref, "9"), savedImage(t, s, indexed, "9")) {
		t.Error("text to image with negative and bool slots differs from the plain graph")
	}
}

// savedImage runs graph and decodes the first image node saved.
func savedImage(t *testing.T, s *comfysim.Server, graph map[string]any, node string) image.Image {
	t.Helper()
	id := submit(t, s, graph, "")
	entry := history(t, s, id)
	if st := entry["status"].(map[string]any)["status_str"]; st != "success" {
		t.Fatalf("status %v: %v", st, entry["status"])
	}
	ref := entry["outputs"].(map[string]any)[node].(map[string]any)["images"].([]any)[0].(map[string]any)
	q := url.Values{"filename": {ref["filename"].(string)}, "subfolder": {ref["subfolder"].(string)}, "type": {ref["type"].(string)}}
	img, err := png.Decode(bytes.NewReader(get(t, s, "/view?"+q.Encode()).body))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// Validation only checks the slots of declared inputs; an undeclared input
// is still gathered by get_input_data, where Python's list indexing
// raises. ComfyUI reports that as the node's execution_error, raised
// before the node announces itself (no "executing" for it).
func TestUndeclaredInputSlotErrors(t *testing.T) {
	t.Parallel()
	s := start(t, comfysim.Options{})
	ws := dial(t, s, "slots")
	ws.mustNext()
	getInputFrames := []any{
		"  File \"<COMFYUI_DIR>/execution.py\", line 449, in execute\n" +
			"    input_data_all, missing_keys, hidden_inputs = get_input_data(inputs, class_def, unique_id, caches.outputs, dynprompt, extra_data)\n" +
			strings.Repeat(" ", 4+46) + strings.Repeat("^", 83) + "\n",
		"  File \"<COMFYUI_DIR>/execution.py\", line 166, in get_input_data\n" +
			"    obj = cached_output[output_index]\n" +
			"          ~~~~~~~~~~~~~^^^^^^^^^^^^^^\n",
	}
	tests := []struct {
		name          string
		slot          any
		excType, text string // "" when the prompt succeeds
	}{
		{"before the first output", -2, "IndexError", "list index out of range\n"},
		{"beyond any index", numLit("-99999999999999999999999"), "IndexError", "cannot fit 'int' into an index-sized integer\n"},
		{"a float inside the list", numLit("0.0"), "TypeError", "list indices must be integers or slices, not float\n"},
		{"a float past the end is None", numLit("1.5"), "", ""},
		{"past the end is None", 7, "", ""},
		{"a huge int is None", numLit("99999999999999999999999"), "", ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := basicWith(t, map[string]any{"image": []any{"1", 0}, "extra": []any{"1", tt.slot}})
			g["1"].(map[string]any)["inputs"].(map[string]any)["color"] = i // node 1 runs every time
			id := submit(t, s, g, "slots")
			frames := ws.untilDone(id)
			entry := history(t, s, id)
			status := entry["status"].(map[string]any)
			if tt.excType == "" {
				diff(t, "status", "success", status["status_str"])
				return
			}
			diff(t, "status", "error", status["status_str"])
			var errMsg map[string]any
			for _, f := range frames {
				m := decode(t, f)
				if m.Type == "executing" && m.Data["node"] == "2" {
					t.Error(`"executing" sent for the node whose inputs failed`)
				}
				if m.Type == "execution_error" {
					errMsg = m.Data
				}
			}
			if errMsg == nil {
				t.Fatalf("no execution_error in %v", types(frames))
			}
			delete(errMsg, "timestamp")
			delete(errMsg, "prompt_id")
			diff(t, "execution_error", map[string]any{
				"node_id": "2", "node_type": "ImageInvert", "executed": []any{"1"},
				"exception_message": tt.text, "exception_type": tt.excType,
				"traceback": getInputFrames, "current_inputs": map[string]any{},
				"current_outputs": []any{"1", "2", "3", "4"},
			}, errMsg)
		})
	}
	if r := get(t, s, "/system_stats"); r.status != http.StatusOK {
		t.Errorf("system_stats after the errors: %d", r.status)
	}
}

// numLit is a JSON number literal kept exact through encoding/json.
type numLit string

func (n numLit) MarshalJSON() ([]byte, error) { return []byte(n), nil }
