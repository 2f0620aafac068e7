package workflow_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/workflow"
	"github.com/comfygate/comfygate/workflow/corenodes"
)

// promptCase is one POST /prompt exchange with a real ComfyUI 0.3.64.
type promptCase struct {
	Name     string          `json:"name"`
	Body     string          `json:"body"`
	Status   int             `json:"status"`
	Response json.RawMessage `json:"response"`
	Outputs  []string        `json:"outputs"`
}

// existingInputs are the input files the capture server had (uploads made
// by earlier scenarios).
var existingInputs = map[string]bool{
	"fixture-upload.png": true, "fixture-upload (1).png": true,
	"fixture/in-sub.png": true, "not-an-image.png": true,
}

func fileExists(name string) bool { return existingInputs[name] }

// probedOutputs are outputs_to_execute of accepted probe prompts, read from
// the prompts' shapes (the probe did not fetch their history).
var probedOutputs = map[string][]string{
	"partial-list": {"3"}, "partial-string": {"12"}, "partial-dict": {"2"}, "partial-null": {"2"},
	"link-to-output-node": {"5"}, "preview-any-star": {"3"}, "string-conversions": {"3", "4"},
}

func emptyModels() corenodes.Models {
	e := []string{}
	return corenodes.Models{Checkpoints: e, Configs: e, Loras: e, VAE: e, TextEncoders: e,
		DiffusionModels: e, ControlNets: e, StyleModels: e, ClipVision: e, Gligen: e,
		Hypernetworks: e, Photomaker: e, ModelPatches: e, AudioEncoders: e, Inputs: e, InputDirs: e}
}

func captureCatalog(tb testing.TB) *workflow.Catalog {
	tb.Helper()
	cat, err := corenodes.Catalog(emptyModels())
	if err != nil {
		tb.Fatal(err)
	}
	return cat
}

func loadCases(tb testing.TB, file string) []promptCase {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "validation", file))
	if err != nil {
		tb.Fatal(err)
	}
	var cases []promptCase
	if err := json.Unmarshal(data, &cases); err != nil {
		tb.Fatal(err)
	}
	return cases
}

// answer is what a ComfyUI-compatible server answers for a POST /prompt body.
type answer struct {
	status  int
	body    any // decoded JSON, or the text of a 500
	outputs []string
}

func answerFor(tb testing.TB, cat *workflow.Catalog, body []byte) answer {
	tb.Helper()
	pb, err := workflow.DecodePromptBody(body)
	var mal *workflow.MalformedError
	var pe *comfy.PromptError
	switch {
	case errors.As(err, &mal):
		return answer{status: 500, body: workflow.InternalErrorBody}
	case errors.As(err, &pe):
		return answer{status: pe.Status, body: normJSON(tb, pe.Body())}
	case err != nil:
		tb.Fatalf("decode: %v", err)
	}
	res := cat.Validate(pb.Prompt, pb.ValidateOptions(fileExists))
	switch res.Status() {
	case 500:
		return answer{status: 500, body: workflow.InternalErrorBody}
	case 400:
		return answer{status: 400, body: normJSON(tb, res.PromptError().Body())}
	}
	return answer{status: 200, outputs: res.Outputs, body: normJSON(tb, map[string]any{
		"prompt_id": "<PROMPT_ID>", "number": "<NUMBER>", "node_errors": res.NodeErrors})}
}

// normJSON round-trips v through JSON so that answers compare as JSON, with
// each node's errors sorted: ComfyUI checks a node's inputs in Python set
// order, which changes from run to run.
func normJSON(tb testing.TB, v any) any {
	tb.Helper()
	var raw []byte
	switch x := v.(type) {
	case json.RawMessage:
		raw = x
	default:
		var err error
		if raw, err = json.Marshal(v); err != nil {
			tb.Fatal(err)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		tb.Fatalf("%v in %s", err, raw)
	}
	if m, ok := out.(map[string]any); ok {
		if ne, ok := m["node_errors"].(map[string]any); ok {
			for _, n := range ne {
				sortErrors(n.(map[string]any))
			}
		}
	}
	return out
}

func sortErrors(node map[string]any) {
	errs, _ := node["errors"].([]any)
	slices.SortStableFunc(errs, func(a, b any) int {
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		return bytes.Compare(ja, jb)
	})
}

func runCases(t *testing.T, file string) int {
	cat := captureCatalog(t)
	cases := loadCases(t, file)
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			got := answerFor(t, cat, []byte(tc.Body))
			var want any = string(tc.Response)
			if tc.Status != 500 {
				want = normJSON(t, tc.Response)
			} else {
				_ = json.Unmarshal(tc.Response, &want)
			}
			if got.status != tc.Status {
				t.Fatalf("status = %d, want %d (body %v)", got.status, tc.Status, got.body)
			}
			if diff := cmp.Diff(want, got.body); diff != "" {
				t.Errorf("answer mismatch (-real ComfyUI +ours):\n%s", diff)
			}
			wantOut := tc.Outputs
			if wantOut == nil {
				wantOut = probedOutputs[tc.Name]
			}
			if wantOut != nil && !slices.Equal(got.outputs, wantOut) {
				t.Errorf("outputs = %v, want %v", got.outputs, wantOut)
			}
		})
	}
	return len(cases)
}

func TestValidateCapturedPrompts(t *testing.T) {
	if n := runCases(t, "captured.json"); n != 21 {
		t.Errorf("ran %d captured cases, want 21", n)
	}
}

func TestValidateProbedPrompts(t *testing.T) {
	runCases(t, "probed.json")
}
