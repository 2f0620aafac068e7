package gateway

import (
	"context"
	"strings"
	"testing"

	"github.com/comfygate/comfygate/workflow"
	"github.com/comfygate/comfygate/workflow/corenodes"
)

// TestPutWorkflowChecksTheGraph: with the fleet's catalog known, a graph
// that cannot run anywhere is refused naming the node and the problem;
// one that only names a file no backend has is stored with a warning.
func TestPutWorkflowChecksTheGraph(t *testing.T) {
	graph := string(readTestdata(t, "txt2img.json"))
	tests := []struct {
		name, body   string
		field, says  string // an error on field saying this, or
		warning      string // stored, with a warning saying this
		wantNoParams bool
	}{
		{name: "unknown node", body: `{"1": {"class_type": "NoSuchNode", "inputs": {}}, "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "x"}}}`,
			field: "body.1.class_type", says: "NoSuchNode"},
		{name: "unknown node, wrapped", body: `{"graph": {"7": {"class_type": "NoSuchNode", "inputs": {}}}}`,
			field: "graph.7.class_type", says: "no backend of the fleet has node type NoSuchNode"},
		{name: "required input missing", body: strings.Replace(graph, `"steps": 20, `, "", 1),
			field: "body.3.inputs.steps", says: "node 3 (KSampler): Required input is missing"},
		{name: "value out of range", body: strings.Replace(graph, `"steps": 20`, `"steps": 0`, 1),
			field: "body.3.inputs.steps", says: "smaller than min"},
		{name: "no outputs", body: `{"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0}}}`,
			field: "body", says: "Prompt has no outputs"},
		{name: "model no backend has", body: strings.Replace(graph, "v1-5-pruned-emaonly.safetensors", "nope.safetensors", 1),
			warning: "node 4 (CheckpointLoaderSimple): ckpt_name: 'nope.safetensors' is not offered by any backend"},
	}
	e := newEnv(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, _, err := e.svc.PutWorkflow(context.Background(), "", "checked", []byte(tc.body))
			if tc.field != "" {
				assertField(t, err, tc.field)
				if err != nil && !strings.Contains(err.Error(), tc.says) {
					t.Errorf("error %q does not say %q", err, tc.says)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !anyContains(w.Warnings, tc.warning) {
				t.Errorf("warnings %q, want one saying %q", w.Warnings, tc.warning)
			}
		})
	}
}

// TestPutWorkflowWithoutCatalogWarns: before any backend has answered the
// graph cannot be checked; it is stored, and the answer says so.
func TestPutWorkflowWithoutCatalogWarns(t *testing.T) {
	e := newEnv(t)
	e.fleet.catalog = nil
	w, _, err := e.svc.PutWorkflow(context.Background(), "", "unchecked", readTestdata(t, "txt2img.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !anyContains(w.Warnings, "no backend has reported its node catalog yet") {
		t.Errorf("warnings = %q", w.Warnings)
	}
	// The same graph with the catalog known carries no warning.
	e.fleet.catalog = nil
	e2 := newEnv(t)
	if w := e2.putTxt2img(t); len(w.Warnings) != 0 {
		t.Errorf("a clean store warns: %q", w.Warnings)
	}
}

// TestEmptyChoicesKeepTheParameter: with no checkpoint on any backend the
// checkpoint parameter stays in the schema (any string, checked when a job
// runs), and the answer says why it has no choices.
func TestEmptyChoicesKeepTheParameter(t *testing.T) {
	e := newEnv(t)
	cat, err := corenodes.Catalog(corenodes.Models{Checkpoints: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	e.fleet.catalog = cat
	w, _, err := e.svc.PutWorkflow(context.Background(), "", "bare", readTestdata(t, "txt2img.json"))
	if err != nil {
		t.Fatal(err)
	}
	props := workflow.Schema(w.Params)["properties"].(map[string]any)
	ckpt, ok := props["checkpoint"].(map[string]any)
	if !ok || ckpt["type"] != "string" {
		t.Fatalf("checkpoint vanished from the schema: %v", props)
	}
	if _, hasEnum := ckpt["enum"]; hasEnum {
		t.Errorf("checkpoint enum = %v, want none", ckpt["enum"])
	}
	if !anyContains(w.Warnings, "parameter checkpoint: no backend offers any choice for CheckpointLoaderSimple.ckpt_name") {
		t.Errorf("warnings = %q", w.Warnings)
	}
}

func anyContains(list []string, s string) bool {
	for _, e := range list {
		if strings.Contains(e, s) {
			return true
		}
	}
	return false
}
