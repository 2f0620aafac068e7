package workflow_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/comfygate/comfygate/workflow"
)

// TestCompleteParams: a hand-declared parameter that gives only target and
// type gets its default from the graph and bounds, step, enum and
// description from the catalog; what the spec says wins.
func TestCompleteParams(t *testing.T) {
	t.Parallel()
	g := parse(t, textToImage)
	cat := defaultCatalog(t)
	spec, err := workflow.ParseParamSpec([]byte(`
steps: {target: 3.inputs.steps, type: integer}
sampler: {target: 3.inputs.sampler_name, type: string}
cfg: {target: 3.inputs.cfg, type: number, max: 12, description: Guidance}
text: {target: 6.inputs.text, type: string, default: a cat}
model: {target: 3.inputs.model, type: string}
`))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]workflow.Param{}
	for _, p := range workflow.CompleteParams(g, spec, cat) {
		got[p.Name] = p
	}
	steps := got["steps"]
	if steps.Default != json.Number("20") || steps.Minimum != "1" || steps.Maximum != "10000" || steps.Description == "" {
		t.Errorf("steps = %+v, want default 20, 1..10000 and the tooltip", steps)
	}
	if s := got["sampler"]; s.Default != "euler" || len(s.Enum) < 10 || !contains(s.Enum, "euler") {
		t.Errorf("sampler = default %v, %d choices, want euler and the sampler list", s.Default, len(s.Enum))
	}
	cfg := got["cfg"]
	if cfg.Maximum != "12" || cfg.Minimum != "0.0" || cfg.Description != "Guidance" || cfg.Default != json.Number("8") {
		t.Errorf("cfg = %+v, want the spec's max and description kept, min and default filled", cfg)
	}
	if got["text"].Default != "a cat" {
		t.Errorf("text default = %v, want the spec's", got["text"].Default)
	}
	if got["model"].Default != nil { // a link: neither the graph nor the catalog has a value
		t.Errorf("model default = %v, want none", got["model"].Default)
	}
	// Without a catalog, only the graph's defaults.
	bare := workflow.CompleteParams(g, spec[:1], nil)
	if diff := cmp.Diff(workflow.Param{Name: "steps", Target: workflow.Target{NodeID: "3", Input: "steps"}, Type: "integer", Default: json.Number("20")}, bare[0]); diff != "" {
		t.Errorf("without a catalog (-want +got):\n%s", diff)
	}
}

func contains(list []any, v any) bool {
	for _, e := range list {
		if e == v {
			return true
		}
	}
	return false
}
