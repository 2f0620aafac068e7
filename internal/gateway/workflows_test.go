package gateway

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/workflow"
)

// TestWorkflowRequestIsWhatTheServerDecodes: a body built from the api
// type the OpenAPI document describes, with every field of a ParamSpec
// set, is stored as written.
func TestWorkflowRequestIsWhatTheServerDecodes(t *testing.T) {
	e := newEnv(t)
	req := api.WorkflowRequest{
		Graph:       readTestdata(t, "txt2img.json"),
		Description: "steps only",
		Params: map[string]api.ParamSpec{
			"steps": {Target: "3.inputs.steps", Type: "integer", Default: json.Number("12"), Minimum: "2", Maximum: "40",
				Step: "1", Enum: []any{json.Number("12"), json.Number("20")}, Description: "how long to sample"},
			"cfg": {Target: "3.cfg", Type: "number", Min: "1", Max: "9"},
		},
	}
	body, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	w, _, err := e.svc.PutWorkflow(context.Background(), "", "typed", body)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]workflow.Param{}
	for _, p := range w.Params {
		byName[p.Name] = p
	}
	steps, cfg := byName["steps"], byName["cfg"]
	if steps.Target.String() != "3.inputs.steps" || steps.Minimum != json.Number("2") || steps.Maximum != json.Number("40") ||
		len(steps.Enum) != 2 || steps.Description != "how long to sample" || w.Description != "steps only" {
		t.Errorf("steps = %+v", steps)
	}
	if cfg.Target.String() != "3.inputs.cfg" || cfg.Minimum != json.Number("1") || cfg.Maximum != json.Number("9") {
		t.Errorf("cfg = %+v", cfg)
	}
}

// TestParamSpecFieldsMatchTheParser: every JSON field of api.ParamSpec is
// a key the spec parser takes (for files and bodies alike), so the
// document cannot promise a field the server refuses.
func TestParamSpecFieldsMatchTheParser(t *testing.T) {
	t.Parallel()
	values := map[string]string{"target": `"3.inputs.steps"`, "type": `"integer"`, "default": `20`, "enum": `[20, 30]`, "description": `"x"`}
	rt := reflect.TypeFor[api.ParamSpec]()
	for i := range rt.NumField() {
		key, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		val, ok := values[key]
		if !ok {
			val = `5` // the numeric fields
		}
		spec := `{"p": {"target": "3.inputs.steps", "type": "integer", "` + key + `": ` + val + `}}`
		if _, err := workflow.ParseParamSpec([]byte(spec)); err != nil {
			t.Errorf("field %q of api.ParamSpec: the parser refuses it: %v", key, err)
		}
	}
	if _, err := workflow.ParseParamSpec([]byte(`{"p": {"target": "3.inputs.steps", "type": "integer", "maximun": 5}}`)); err == nil {
		t.Error("the parser takes an unknown key")
	}
}

func TestPutWorkflowBodyErrors(t *testing.T) {
	graph := string(readTestdata(t, "txt2img.json"))
	tests := []struct {
		name, body, field, problem string
	}{
		{"params as a list", `{"graph": ` + graph + `, "params": [{"name": "seed", "target": "3.inputs.seed", "type": "integer"}]}`, "params", "must be a mapping"},
		{"unknown wrapper field", `{"graph": ` + graph + `, "parms": {}}`, "parms", "unknown field"},
		{"unknown spec field", `{"graph": ` + graph + `, "params": {"seed": {"target": "3.inputs.seed", "type": "integer", "maximun": 5}}}`, "params.seed", `unknown field "maximun"`},
		{"spec without type", `{"graph": ` + graph + `, "params": {"seed": {"target": "3.inputs.seed"}}}`, "params.seed", "type: required"},
		{"description not text", `{"graph": ` + graph + `, "description": 5}`, "description", "must be string"},
	}
	e := newEnv(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := e.svc.PutWorkflow(context.Background(), "", "w", []byte(tc.body))
			assertField(t, err, tc.field)
			if err != nil && !strings.Contains(err.Error(), tc.problem) {
				t.Errorf("error %q does not say %q", err, tc.problem)
			}
		})
	}
}

// TestSpecFilledFromCatalog: a hand-declared parameter that names only its
// target and type is published with the graph's default and the catalog's
// bounds and choices.
func TestSpecFilledFromCatalog(t *testing.T) {
	e := newEnv(t)
	body := `{"graph": ` + string(readTestdata(t, "txt2img.json")) + `, "params": {
		"steps": {"target": "3.inputs.steps", "type": "integer"},
		"sampler": {"target": "3.inputs.sampler_name", "type": "string"}}}`
	w, _, err := e.svc.PutWorkflow(context.Background(), "", "short", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	steps, sampler := w.Params[0], w.Params[1]
	if steps.Name != "steps" || steps.Default == nil || steps.Minimum != json.Number("1") || steps.Maximum != json.Number("10000") {
		t.Errorf("steps = %+v, want a default and 1..10000", steps)
	}
	if sampler.Name != "sampler" || len(sampler.Enum) == 0 || sampler.Default == nil {
		t.Errorf("sampler = %+v, want the sampler list and a default", sampler)
	}
	props := workflow.Schema(w.Params)["properties"].(map[string]any)
	if s := props["steps"].(map[string]any); s["maximum"] == nil || s["default"] == nil {
		t.Errorf("schema of steps = %v", s)
	}
}

// TestJobExpandsEditorTokens: a stored workflow's save node prefix with the
// editor's tokens gets them expanded for each job, with the job's own
// parameter values and time, as the ComfyUI editor expands them when it
// queues.
func TestJobExpandsEditorTokens(t *testing.T) {
	e := newEnv(t)
	e.svc.cfg.Clock = func() time.Time { return time.Date(2025, time.March, 7, 9, 5, 3, 0, time.Local) }
	graph := strings.Replace(string(readTestdata(t, "txt2img.json")), `"filename_prefix": "ComfyUI"`,
		`"filename_prefix": "fox/%date:yyyy-MM-dd%_%KSampler.seed%"`, 1)
	if _, _, err := e.svc.PutWorkflow(context.Background(), "", "dated", []byte(graph)); err != nil {
		t.Fatal(err)
	}
	j, err := e.svc.Submit(context.Background(), rest("", job.Submission{Workflow: "dated", Params: map[string]any{"seed": json.Number("42")}}))
	if err != nil {
		t.Fatal(err)
	}
	stored, err := e.store.GetJob(context.Background(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(stored.Graph), `"filename_prefix":"fox/2025-03-07_42"`) {
		t.Errorf("job graph = %s", stored.Graph)
	}
	stored2, _ := e.svc.GetWorkflow(context.Background(), "", "dated")
	if !strings.Contains(string(stored2.Graph), "%date:yyyy-MM-dd%") {
		t.Error("the stored workflow lost its tokens")
	}
}
