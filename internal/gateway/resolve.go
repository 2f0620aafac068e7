package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/workflow"
)

// resolved is a submission turned into the graph that will run.
type resolved struct {
	graph   workflow.Graph
	name    string
	version string
	params  json.RawMessage
	// fields names the request field that set a node input, for the
	// errors of staging it: "params.<name>" or
	// "overrides.<node>.inputs.<input>". Inputs not listed came with the
	// graph itself ("prompt.<node>.inputs.<input>").
	fields map[workflow.Target]string
}

// field is the request field that set input of node id.
func (r resolved) field(id, input string) string {
	if f, ok := r.fields[workflow.Target{NodeID: id, Input: input}]; ok {
		return f
	}
	return fmt.Sprintf("prompt.%s.inputs.%s", id, input)
}

func (r *resolved) setBy(t workflow.Target, field string) {
	if r.fields == nil {
		r.fields = map[workflow.Target]string{}
	}
	r.fields[t] = field
}

// resolve turns a submission into its graph: the stored workflow bound with
// its parameters, or the prompt as given, with the overrides applied.
func (s *Service) resolve(ctx context.Context, sub job.Submission, parsed workflow.Graph) (resolved, error) {
	var r resolved
	var err error
	hasPrompt := len(sub.Prompt) > 0 || parsed != nil
	switch {
	case sub.Workflow != "" && hasPrompt:
		return r, &InputError{Field: "prompt", Problem: "give either workflow or prompt, not both"}
	case sub.Workflow != "":
		r, err = s.fromWorkflow(ctx, sub)
	case hasPrompt:
		r, err = s.fromPrompt(sub, parsed)
	default:
		return r, &InputError{Field: "workflow", Problem: "either workflow or prompt is required"}
	}
	if err != nil {
		return r, err
	}
	if len(sub.Overrides) > 0 {
		if r.graph, err = applyOverrides(r.graph, sub.Overrides); err != nil {
			return r, err
		}
		for id, inputs := range sub.Overrides {
			for in := range inputs {
				r.setBy(workflow.Target{NodeID: id, Input: in}, "overrides."+id+".inputs."+in)
			}
		}
	}
	return r, nil
}

// fromWorkflow binds a workflow the caller sees (its own, or a shared
// one) with the submission's parameters.
func (s *Service) fromWorkflow(ctx context.Context, sub job.Submission) (resolved, error) {
	wf, err := s.findWorkflow(ctx, sub.Owner, sub.Workflow, sub.Version)
	if err != nil {
		return resolved{}, err
	}
	g, params, err := decodeStored(wf, s.cfg.Limits)
	if err != nil {
		return resolved{}, err
	}
	bound, err := workflow.Bind(g, params, sub.Params)
	if err != nil {
		return resolved{}, paramError(err)
	}
	// What the ComfyUI editor expands when it queues (%date:…%, %Node.widget%).
	bound = workflow.ExpandTextTokens(bound, s.cfg.Clock())
	var raw json.RawMessage
	if len(sub.Params) > 0 {
		raw, _ = json.Marshal(sub.Params)
	}
	r := resolved{graph: bound, name: wf.Name, version: wf.Version, params: raw}
	for _, p := range params {
		if _, given := sub.Params[p.Name]; given {
			r.setBy(p.Target, "params."+p.Name)
		}
	}
	return r, nil
}

// fromPrompt takes the submission's raw prompt, or the graph a surface
// parsed from it (see SubmitParsed).
func (s *Service) fromPrompt(sub job.Submission, parsed workflow.Graph) (resolved, error) {
	if len(sub.Params) > 0 {
		return resolved{}, &InputError{Field: "params", Problem: "params need a workflow; use overrides with a raw prompt"}
	}
	if parsed != nil {
		if len(sub.Prompt) > 0 {
			return resolved{}, &InputError{Field: "prompt", Problem: "given both parsed and raw"}
		}
		return resolved{graph: parsed}, nil
	}
	g, err := workflow.ParseGraph(sub.Prompt, s.cfg.Limits)
	if err != nil {
		return resolved{}, &InputError{Field: "prompt", Problem: err.Error()}
	}
	return resolved{graph: g}, nil
}

// paramError turns a binding error into an InputError naming the field.
func paramError(err error) error {
	var pe *workflow.ParamError
	if errors.As(err, &pe) {
		return &InputError{Field: "params." + pe.Param, Problem: pe.Problem}
	}
	return &InputError{Field: "params", Problem: err.Error()}
}

// applyOverrides sets node inputs directly.
func applyOverrides(g workflow.Graph, o map[string]map[string]any) (workflow.Graph, error) {
	m := make(map[string]workflow.NodeOverride, len(o))
	for id, inputs := range o {
		m[id] = workflow.NodeOverride{Inputs: inputs}
	}
	out, err := workflow.ApplyOverrides(g, m)
	if err != nil {
		var oe *workflow.OverrideError
		if errors.As(err, &oe) {
			field := "overrides." + oe.NodeID
			if oe.Input != "" {
				field += ".inputs." + oe.Input
			}
			return nil, &InputError{Field: field, Problem: oe.Problem}
		}
		return nil, &InputError{Field: "overrides", Problem: err.Error()}
	}
	return out, nil
}
