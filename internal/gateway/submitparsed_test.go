package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/workflow"
)

const parsedPrompt = `{"1":{"class_type":"EmptyImage","inputs":{"width":8,"height":8,"batch_size":1,"color":255}},
 "2":{"class_type":"SaveImage","inputs":{"filename_prefix":"x","images":["1",0]}},
 "3":{"class_type":"PreviewImage","inputs":{"images":["1",0]}}}`

// checked parses and validates prompt as the ComfyUI-compatible surface
// does before SubmitParsed.
func checked(tb testing.TB, e *env, prompt string, only []string) workflow.Result {
	tb.Helper()
	g, err := workflow.ParseGraph([]byte(prompt), workflow.Limits{})
	if err != nil {
		tb.Fatal(err)
	}
	res := e.fleet.catalog.Validate(g, workflow.ValidateOptions{PartialTargets: only})
	if res.Err != nil || !res.OK() {
		tb.Fatalf("validation: %v %v", res.Err, res.Error)
	}
	return res
}

func comfySub(sub job.Submission) job.Submission {
	sub.Source, sub.HasClientID, sub.ClientID = job.SourceComfy, true, "c1"
	return sub
}

// A job submitted as a parsed, validated graph is stored as the same job
// submitted as its JSON: the same graph and output nodes.
func TestSubmitParsedStoresWhatSubmitStores(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	for _, only := range [][]string{nil, {"3"}} {
		res := checked(t, e, parsedPrompt, only)
		raw, err := json.Marshal(res.Graph)
		if err != nil {
			t.Fatal(err)
		}
		viaJSON, err := e.svc.Submit(ctx, comfySub(job.Submission{Prompt: raw, Outputs: res.Outputs}))
		if err != nil {
			t.Fatal(err)
		}
		viaGraph, err := e.svc.SubmitParsed(ctx, comfySub(job.Submission{Outputs: res.Outputs}), checked(t, e, parsedPrompt, only).Graph)
		if err != nil {
			t.Fatal(err)
		}
		a, b := viaJSON.Job, viaGraph.Job
		if !bytes.Equal(a.Graph, b.Graph) || !slices.Equal(a.OutputNodes, b.OutputNodes) {
			t.Errorf("outputs %v: stored\n%s %v\nfrom JSON, and\n%s %v\nfrom the parsed graph", only, a.Graph, a.OutputNodes, b.Graph, b.OutputNodes)
		}
	}
}

// What Submit checks beyond validation, SubmitParsed checks too.
func TestSubmitParsedChecks(t *testing.T) {
	t.Parallel()
	traversal := `{"1":{"class_type":"LoadImage","inputs":{"image":"../../etc/passwd"}},"2":{"class_type":"PreviewImage","inputs":{"images":["1",0]}}}`
	tests := []struct {
		name   string
		sub    job.Submission
		prompt string // parsed without validation; "" for none
		field  string // of the InputError, "" for an UnrunnableError
	}{
		{"no graph", job.Submission{}, "", "prompt"},
		{"a raw prompt too", job.Submission{Prompt: json.RawMessage(parsedPrompt)}, parsedPrompt, "prompt"},
		{"a workflow too", job.Submission{Workflow: "t2i"}, parsedPrompt, "prompt"},
		{"params", job.Submission{Params: map[string]any{"seed": 1}}, parsedPrompt, "params"},
		{"traversal in a file input", job.Submission{}, traversal, "prompt.1.inputs.image"},
		{"no backend can run it", job.Submission{}, parsedPrompt, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			if tt.field == "" {
				e.fleet.RunnableFunc = func(workflow.Graph) error { return errors.New(`model "x" is not on any backend`) }
			}
			var g workflow.Graph
			if tt.prompt != "" {
				var err error
				if g, err = workflow.ParseGraph([]byte(tt.prompt), workflow.Limits{}); err != nil {
					t.Fatal(err)
				}
			}
			_, err := e.svc.SubmitParsed(context.Background(), comfySub(tt.sub), g)
			if tt.field == "" {
				var ue *UnrunnableError
				if !errors.As(err, &ue) {
					t.Fatalf("err = %v, want *UnrunnableError", err)
				}
				return
			}
			assertField(t, err, tt.field)
		})
	}
}
