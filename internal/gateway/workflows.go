package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"

	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/workflow"
)

var workflowName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// Workflow is a stored workflow version with its parameter spec decoded.
// Its Owner is "" for a shared workflow (see PutWorkflow).
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
//
// Where it goes depends on the caller (see the package doc's "Who sees
// what"): an admin writes the shared workflow of that name,
// any other key its own. A key without an own workflow of that name may
// not take the name of a shared one: a ConflictError says so.
func (s *Service) PutWorkflow(ctx context.Context, owner, name string, body []byte) (Workflow, bool, error) {
	if err := checkWorkflowName(name); err != nil {
		return Workflow{}, false, err
	}
	parts, err := decodeWorkflowBody(body)
	if err != nil {
		return Workflow{}, false, err
	}
	ns := s.namespace(owner)
	if err := s.checkNameFree(ctx, ns, name); err != nil {
		return Workflow{}, false, err
	}
	return s.putParts(ctx, ns, name, parts)
}

func checkWorkflowName(name string) error {
	if !workflowName.MatchString(name) {
		return &InputError{Field: "name", Problem: "must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit"}
	}
	return nil
}

// namespace is where owner's workflows are written: the shared one ("")
// for admins, the key's own for everyone else.
func (s *Service) namespace(owner string) string {
	if s.IsAdmin(owner) {
		return ""
	}
	return owner
}

// checkNameFree refuses a key's first own workflow of a name that a shared
// workflow has: the key could not tell the two apart.
func (s *Service) checkNameFree(ctx context.Context, ns, name string) error {
	if ns == "" {
		return nil
	}
	if found, err := s.hasWorkflow(ctx, ns, name); found || err != nil {
		return err
	}
	found, err := s.hasWorkflow(ctx, "", name)
	if found {
		return &ConflictError{Code: "workflow_shared", Message: fmt.Sprintf(
			"workflow %q is a shared workflow: only an admin key may change it; store yours under another name", name)}
	}
	return err
}

func (s *Service) hasWorkflow(ctx context.Context, ns, name string) (bool, error) {
	_, err := s.cfg.Store.GetWorkflow(ctx, ns, name, "")
	if errors.Is(err, job.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("get workflow %s: %w", name, err)
	}
	return true, nil
}

// workflowParts is a workflow before parsing: its graph in either format,
// an optional parameter spec (JSON or YAML) and a description.
type workflowParts struct {
	graph       []byte
	graphField  string // how errors name the graph
	spec        []byte
	description string
}

// putParts stores a workflow in namespace ns ("" for the shared one).
func (s *Service) putParts(ctx context.Context, ns, name string, p workflowParts) (Workflow, bool, error) {
	if err := checkWorkflowName(name); err != nil {
		return Workflow{}, false, err
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
	stored, changed, err := s.cfg.Store.PutWorkflow(ctx, &job.Workflow{Owner: ns, Name: name, Graph: graphJSON, Params: paramsJSON, Description: p.description})
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

// GetWorkflow returns the latest version of a workflow the caller sees:
// its own of that name, else the shared one. Another key's own workflow
// is not found.
func (s *Service) GetWorkflow(ctx context.Context, owner, name string) (Workflow, error) {
	w, err := s.findWorkflow(ctx, owner, name, "")
	if err != nil {
		return Workflow{}, err
	}
	return withParams(w, s.cfg.Limits)
}

// findWorkflow finds version ("" for the latest) of a workflow the caller
// sees, as GetWorkflow does; jobs run what it finds.
func (s *Service) findWorkflow(ctx context.Context, owner, name, version string) (*job.Workflow, error) {
	if ns := s.namespace(owner); ns != "" {
		w, err := s.cfg.Store.GetWorkflow(ctx, ns, name, version)
		if !errors.Is(err, job.ErrNotFound) {
			return w, notFound("workflow", name, err)
		}
	}
	w, err := s.cfg.Store.GetWorkflow(ctx, "", name, version)
	return w, notFound("workflow", name, err)
}

// ListWorkflows returns the latest version of every workflow the caller
// sees, by name: the shared ones and the caller's own, which hide a
// shared one of the same name.
func (s *Service) ListWorkflows(ctx context.Context, owner string) ([]Workflow, error) {
	list, err := s.cfg.Store.ListWorkflows(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("list workflows: %w", err)
	}
	if ns := s.namespace(owner); ns != "" {
		own, err := s.cfg.Store.ListWorkflows(ctx, ns)
		if err != nil {
			return nil, fmt.Errorf("list workflows: %w", err)
		}
		list = mergeByName(own, list)
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

// mergeByName merges two lists sorted by name; first wins a name both have.
func mergeByName(first, second []*job.Workflow) []*job.Workflow {
	out := make([]*job.Workflow, 0, len(first)+len(second))
	i, j := 0, 0
	for i < len(first) || j < len(second) {
		switch {
		case j == len(second) || i < len(first) && first[i].Name < second[j].Name:
			out = append(out, first[i])
			i++
		case i == len(first) || second[j].Name < first[i].Name:
			out = append(out, second[j])
			j++
		default: // the same name
			out = append(out, first[i])
			i, j = i+1, j+1
		}
	}
	return out
}

// DeleteWorkflow removes a workflow name the caller may change: an
// admin's the shared one, any other key its own. A key asking to delete a
// shared workflow is refused with a ForbiddenError. Jobs keep the
// versions they ran.
func (s *Service) DeleteWorkflow(ctx context.Context, owner, name string) error {
	ns := s.namespace(owner)
	err := s.cfg.Store.DeleteWorkflow(ctx, ns, name)
	if ns != "" && errors.Is(err, job.ErrNotFound) {
		if shared, serr := s.hasWorkflow(ctx, "", name); serr == nil && shared {
			return &ForbiddenError{Message: fmt.Sprintf("workflow %q is a shared workflow: only an admin key may delete it", name)}
		}
	}
	return notFound("workflow", name, err)
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
