package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/workflow"
)

var workflowName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// Workflow is a stored workflow version with its parameter spec decoded.
type Workflow struct {
	*job.Workflow
	Params []workflow.Param
	// Warnings are what storing it found worth saying but not refusing;
	// only PutWorkflow's answer carries them.
	Warnings []string
}

// PutWorkflow stores a workflow given as a bare API-format graph, a
// UI-format workflow (converted with the fleet's node catalog), or the
// wrapped form {"graph", "params", "description"} (the REST API's
// WorkflowRequest). Without a parameter spec the parameters are detected
// from the graph.
func (s *Service) PutWorkflow(ctx context.Context, name string, body []byte) (Workflow, bool, error) {
	parts, err := decodeWorkflowBody(body)
	if err != nil {
		return Workflow{}, false, err
	}
	return s.putParts(ctx, name, parts)
}

// workflowParts is a workflow before parsing: its graph in either format,
// an optional parameter spec (JSON or YAML) and a description.
type workflowParts struct {
	graph       []byte
	graphField  string // how errors name the graph
	spec        []byte
	description string
}

func (s *Service) putParts(ctx context.Context, name string, p workflowParts) (Workflow, bool, error) {
	if !workflowName.MatchString(name) {
		return Workflow{}, false, &InputError{Field: "name", Problem: "must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit"}
	}
	g, err := s.parseGraphAnyFormat(p.graph, p.graphField)
	if err != nil {
		return Workflow{}, false, err
	}
	cat := s.cfg.Fleet.Catalog()
	warnings, err := checkGraph(g, cat, p.graphField)
	if err != nil {
		return Workflow{}, false, err
	}
	params, err := paramsFor(g, p.spec, cat)
	if err != nil {
		return Workflow{}, false, err
	}
	warnings = append(warnings, paramWarnings(g, params, cat)...)
	graphJSON, err := json.Marshal(g)
	if err != nil {
		return Workflow{}, false, fmt.Errorf("encode graph: %w", err)
	}
	paramsJSON, err := json.Marshal(params)
	if err != nil {
		return Workflow{}, false, fmt.Errorf("encode params: %w", err)
	}
	stored, changed, err := s.cfg.Store.PutWorkflow(ctx, &job.Workflow{Name: name, Graph: graphJSON, Params: paramsJSON, Description: p.description})
	if err != nil {
		return Workflow{}, false, fmt.Errorf("store workflow %s: %w", name, err)
	}
	w, err := withParams(stored, s.cfg.Limits)
	w.Warnings = warnings
	return w, changed, err
}

func (s *Service) parseGraphAnyFormat(data []byte, field string) (workflow.Graph, error) {
	if workflow.IsUIFormat(data) {
		cat := s.cfg.Fleet.Catalog()
		if cat == nil {
			return nil, &InputError{Field: field, Problem: "a UI-format workflow needs a connected backend to convert it (its /object_info); try again when one is healthy, or save it in API format"}
		}
		g, err := workflow.FromUI(data, cat)
		if err != nil {
			return nil, &InputError{Field: field, Problem: err.Error()}
		}
		return g, nil
	}
	g, err := workflow.ParseGraph(data, s.cfg.Limits)
	if err != nil {
		return nil, &InputError{Field: field, Problem: err.Error()}
	}
	if len(g) == 0 {
		return nil, &InputError{Field: field, Problem: "graph has no nodes"}
	}
	return g, nil
}

// paramsFor uses the given spec, completed from the graph and the catalog,
// or detects parameters from the graph.
func paramsFor(g workflow.Graph, spec json.RawMessage, cat *workflow.Catalog) ([]workflow.Param, error) {
	if isSet(spec) {
		params, err := workflow.ParseParamSpec(spec)
		if err != nil {
			return nil, specError(err)
		}
		if err := checkTargets(g, params); err != nil {
			return nil, err
		}
		return workflow.CompleteParams(g, params, cat), nil
	}
	return workflow.DetectParams(g, cat), nil
}

// GetWorkflow returns the latest version of a workflow.
func (s *Service) GetWorkflow(ctx context.Context, name string) (Workflow, error) {
	w, err := s.cfg.Store.GetWorkflow(ctx, name, "")
	if err != nil {
		return Workflow{}, notFound("workflow", name, err)
	}
	return withParams(w, s.cfg.Limits)
}

// ListWorkflows returns the latest version of every workflow.
func (s *Service) ListWorkflows(ctx context.Context) ([]Workflow, error) {
	list, err := s.cfg.Store.ListWorkflows(ctx)
	if err != nil {
		return nil, fmt.Errorf("list workflows: %w", err)
	}
	out := make([]Workflow, 0, len(list))
	for _, w := range list {
		v, err := withParams(w, s.cfg.Limits)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// DeleteWorkflow removes a workflow name; jobs keep the versions they ran.
func (s *Service) DeleteWorkflow(ctx context.Context, name string) error {
	if err := s.cfg.Store.DeleteWorkflow(ctx, name); err != nil {
		return notFound("workflow", name, err)
	}
	return nil
}

// decodeStored parses a stored workflow's graph and parameters.
func decodeStored(w *job.Workflow, lim workflow.Limits) (workflow.Graph, []workflow.Param, error) {
	g, err := workflow.ParseGraph(w.Graph, lim)
	if err != nil {
		return nil, nil, fmt.Errorf("stored workflow %s: %w", w.Name, err)
	}
	var params []workflow.Param
	if len(w.Params) > 0 {
		if err := json.Unmarshal(w.Params, &params); err != nil {
			return nil, nil, fmt.Errorf("stored workflow %s params: %w", w.Name, err)
		}
	}
	return g, params, nil
}

// withParams decodes a stored workflow's parameter spec.
func withParams(w *job.Workflow, lim workflow.Limits) (Workflow, error) {
	_, params, err := decodeStored(w, lim)
	if err != nil {
		return Workflow{}, err
	}
	return Workflow{Workflow: w, Params: params}, nil
}

// checkTargets makes sure every parameter of a spec points at an input of
// a node that exists, so a typo fails when the workflow is stored rather
// than when a job runs.
func checkTargets(g workflow.Graph, params []workflow.Param) error {
	for _, p := range params {
		n, ok := g[p.Target.NodeID]
		if !ok {
			return &InputError{Field: "params." + p.Name, Problem: fmt.Sprintf("target node %q is not in the graph", p.Target.NodeID)}
		}
		if _, ok := n.Inputs[p.Target.Input]; !ok && p.Type != "image" {
			return &InputError{Field: "params." + p.Name, Problem: fmt.Sprintf("node %s (%s) has no input %q", p.Target.NodeID, n.ClassType, p.Target.Input)}
		}
	}
	return nil
}
