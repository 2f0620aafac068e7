package gateway

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/workflow"
)

// noCatalogWarning is the answer's warning when no backend has reported
// its node catalog: nothing could be checked.
const noCatalogWarning = "not checked: no backend has reported its node catalog yet, so the graph was not validated " +
	"and parameters were detected without it (prompts and $-marked nodes only, no bounds or choices); " +
	"jobs are validated when they are submitted. Store the workflow again once a backend is healthy."

// checkGraph validates g against the fleet's catalog before it is stored,
// as ComfyUI would validate it when a job runs, so that a workflow that can
// never run is refused by name now rather than failing every job later.
// What a job can still fix (a file or model value no backend offers: a
// parameter may replace it, a backend may gain it) is a warning instead.
// field names the graph in errors ("graph", or "body" for a bare one).
func checkGraph(g workflow.Graph, cat *workflow.Catalog, field string) ([]string, error) {
	if cat == nil {
		return []string{noCatalogWarning}, nil
	}
	for _, id := range g.IDs() {
		if _, ok := cat.Class(g[id].ClassType); !ok {
			return nil, &InputError{Field: field + "." + id + ".class_type",
				Problem: fmt.Sprintf("no backend of the fleet has node type %s (node %s)", g[id].ClassType, id)}
		}
	}
	res := cat.Validate(g, workflow.ValidateOptions{})
	if res.Err != nil {
		return nil, &InputError{Field: field, Problem: res.Err.Error()}
	}
	fatal, warnings := splitNodeErrors(res.NodeErrors)
	switch {
	case len(fatal) > 0:
		return nil, renameField(validationError(res.Error, fatal), field)
	case res.Error != nil && len(res.NodeErrors) == 0: // e.g. prompt_no_outputs
		return nil, &InputError{Field: field, Problem: strings.TrimSpace(res.Error.Message + " " + res.Error.Details)}
	}
	return warnings, nil
}

// splitNodeErrors keeps the errors a job cannot fix and turns "value not in
// list" into warnings, in node order.
func splitNodeErrors(nodes map[string]comfy.NodeError) (map[string]comfy.NodeError, []string) {
	fatal := map[string]comfy.NodeError{}
	var warnings []string
	ids := slices.SortedFunc(maps.Keys(nodes), workflow.NaturalCompare)
	for _, id := range ids {
		ne := nodes[id]
		var keep []comfy.ErrorInfo
		for _, e := range ne.Errors {
			if e.Type != "value_not_in_list" {
				keep = append(keep, e)
				continue
			}
			value, _, _ := strings.Cut(e.Details, " not in ")
			warnings = append(warnings, fmt.Sprintf("node %s (%s): %s is not offered by any backend; "+
				"jobs must set another value, or wait for a backend that has it", id, ne.ClassType, value))
		}
		if len(keep) > 0 {
			ne.Errors = keep
			fatal[id] = ne
		}
	}
	return fatal, warnings
}

// renameField makes a submit-time validation error name the workflow's
// graph rather than a job's prompt.
func renameField(err error, field string) error {
	if ie, ok := err.(*InputError); ok {
		if rest, ok := strings.CutPrefix(ie.Field, "prompt"); ok {
			ie.Field = field + rest
		}
	}
	return err
}

// paramWarnings says what a caller of the stored workflow would otherwise
// find out the hard way: a choice parameter none of whose choices any
// backend offers keeps its place in the schema, but accepts any string and
// the backend decides.
func paramWarnings(g workflow.Graph, params []workflow.Param, cat *workflow.Catalog) []string {
	var out []string
	for _, p := range params {
		if n, ok := g[p.Target.NodeID]; ok && emptyCombo(cat, n.ClassType, p.Target.Input) && p.Type != workflow.TypeImage {
			out = append(out, fmt.Sprintf("parameter %s: no backend offers any choice for %s.%s, so it takes any string "+
				"and the backend checks it when a job runs", p.Name, n.ClassType, p.Target.Input))
		}
	}
	return out
}

// emptyCombo reports whether class.input is a choice list with no choices.
func emptyCombo(cat *workflow.Catalog, class, input string) bool {
	cls, ok := cat.Class(class)
	if !ok {
		return false
	}
	spec, ok := cls.Input(input)
	return ok && spec.Type == "COMBO" && len(spec.Values) == 0
}
