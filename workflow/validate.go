package workflow

import (
	"slices"
	"strings"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/comfy/comfyjson"
)

// ValidateOptions tune Catalog.Validate.
type ValidateOptions struct {
	// PartialTargets, when non-nil, limits the outputs to these node ids
	// (partial_execution_targets); an empty non-nil list selects none.
	PartialTargets []string
	// InputFileExists answers the file checks of loader nodes (LoadImage
	// and friends) for a name as sent, annotations such as " [output]"
	// included (see SplitAnnotated). nil treats every file as present.
	InputFileExists func(name string) bool
	// TracebackRoot replaces ComfyUI's source directory in tracebacks
	// (default DefaultTracebackRoot).
	TracebackRoot string

	targets any // partial_execution_targets as sent (never null), from PromptBody
}

// Result is the outcome of Validate, in the terms of ComfyUI's answer.
type Result struct {
	// Graph is a copy of the validated graph with ComfyUI's conversions
	// written back ("5" → 5 for an INT input, {"__value__": x} → x), as
	// ComfyUI stores and shows it. The input graph is not modified.
	Graph Graph
	// Outputs are the output nodes to execute (outputs_to_execute), in
	// prompt order.
	Outputs []string
	// Error is the top-level error of a 400 answer; nil when queued.
	Error *comfy.ErrorInfo
	// NodeErrors are the per-node errors; they may be non-empty with a nil
	// Error (queued with some outputs dropped).
	NodeErrors map[string]comfy.NodeError
	// Err is a *MalformedError when ComfyUI would raise an unhandled
	// exception instead of answering (500 text/plain).
	Err error
}

// OK reports whether the prompt would be queued.
func (r Result) OK() bool { return r.Error == nil && r.Err == nil }

// Status is the HTTP status ComfyUI answers with: 200, 400 or 500.
func (r Result) Status() int {
	switch {
	case r.Err != nil:
		return 500
	case r.Error != nil:
		return 400
	}
	return 200
}

// PromptError returns the 400 answer as a *comfy.PromptError, or nil.
func (r Result) PromptError() *comfy.PromptError {
	if r.Error == nil || r.Err != nil {
		return nil
	}
	return &comfy.PromptError{Status: 400, Info: *r.Error, NodeErrors: r.NodeErrors}
}

// Validate checks g exactly as ComfyUI 0.3.64's validate_prompt does: every
// node's class first (in prompt order), then the output selection, then a
// depth-first check of every output and its upstream nodes, with the same
// error types, messages, details and extra_info, and the same partial
// success. Where Python's set iteration order makes ComfyUI's order vary
// from run to run (outputs, inputs of one node), Validate uses prompt order
// and input_order.
func (c *Catalog) Validate(g Graph, opts ValidateOptions) Result {
	if opts.TracebackRoot == "" {
		opts.TracebackRoot = DefaultTracebackRoot
	}
	g = g.Clone()
	res := Result{Graph: g, NodeErrors: map[string]comfy.NodeError{}}
	outputs, info, err := c.selectOutputs(g, opts)
	if err != nil || info != nil {
		res.Error, res.Err = info, err
		return res
	}
	v := &validation{cat: c, g: g, opts: opts, done: map[string]*nodeResult{}, active: map[string]bool{}}
	var failed []string
	for _, o := range outputs {
		r := v.validateOutput(o)
		if r.valid {
			res.Outputs = append(res.Outputs, o)
			continue
		}
		failed = append(failed, o)
		v.collect(o, res.NodeErrors)
	}
	if len(res.Outputs) == 0 {
		res.Error = &comfy.ErrorInfo{Type: "prompt_outputs_failed_validation",
			Message: "Prompt outputs failed validation", Details: v.outputDetails(failed),
			ExtraInfo: map[string]any{}}
	}
	return res
}

func topError(typ, msg, details string) *comfy.ErrorInfo {
	return &comfy.ErrorInfo{Type: typ, Message: msg, Details: details, ExtraInfo: map[string]any{}}
}

// selectOutputs is validate_prompt's first loop: class checks for every
// node, then the output nodes, filtered by the partial targets.
func (c *Catalog) selectOutputs(g Graph, opts ValidateOptions) ([]string, *comfy.ErrorInfo, error) {
	var outputs []string
	for _, id := range g.IDs() {
		n := g[id]
		if info, err := c.checkClass(id, n); info != nil || err != nil {
			return nil, info, err
		}
		if !c.classes[n.ClassType].OutputNode {
			continue
		}
		ok, err := opts.selects(id)
		if err != nil {
			return nil, nil, err
		}
		if ok {
			outputs = append(outputs, id)
		}
	}
	if len(outputs) == 0 {
		return nil, topError("prompt_no_outputs", "Prompt has no outputs", ""), nil
	}
	return outputs, nil, nil
}

func (c *Catalog) checkClass(id string, n *Node) (*comfy.ErrorInfo, error) {
	missing := topError("invalid_prompt", "Cannot execute because a node is missing the class_type property.",
		"Node ID '#"+id+"'")
	if n == nil {
		return nil, &MalformedError{Reason: "node " + id + " is null"}
	}
	if q := n.q; q != nil {
		switch {
		case q.notObject && q.crash:
			return nil, &MalformedError{Reason: "node " + id + " is not an object"}
		case q.noClassType:
			return missing, nil
		case q.classUnhashable:
			return nil, &MalformedError{Reason: "node " + id + ": class_type is unhashable"}
		case q.classNotStr:
			return topError("invalid_prompt", "Cannot execute because node "+n.ClassType+" does not exist.",
				"Node ID '#"+id+"'"), nil
		}
	}
	if _, ok := c.classes[n.ClassType]; !ok {
		return topError("invalid_prompt", "Cannot execute because node "+n.ClassType+" does not exist.",
			"Node ID '#"+id+"'"), nil
	}
	return nil, nil
}

// selects is `partial_execution_list is None or x in partial_execution_list`.
func (o ValidateOptions) selects(id string) (bool, error) {
	t := o.targets
	if t == nil {
		return o.PartialTargets == nil || slices.Contains(o.PartialTargets, id), nil
	}
	switch x := t.(type) {
	case []any, comfyjson.Object:
		return slices.Contains(o.PartialTargets, id), nil
	case string:
		return strings.Contains(x, id), nil
	}
	return false, &MalformedError{Reason: "partial_execution_targets is a " + kindName(t)}
}

// collect is the node_errors aggregation after a failed output o: every
// failed node with reasons checked so far (for any output) gets o as a
// dependent output, as ComfyUI does.
func (v *validation) collect(o string, nodeErrors map[string]comfy.NodeError) {
	for _, id := range v.order {
		r := v.done[id]
		if r.valid || len(r.errors) == 0 {
			continue
		}
		ne, ok := nodeErrors[id]
		if !ok {
			ne = comfy.NodeError{Errors: r.errors, ClassType: v.g[id].ClassType}
		}
		ne.DependentOutputs = append(ne.DependentOutputs, o)
		nodeErrors[id] = ne
	}
}

// outputDetails joins "message: details" of the failed outputs' own errors.
func (v *validation) outputDetails(failed []string) string {
	var lines []string
	for _, o := range failed {
		for _, e := range v.outputReasons[o] {
			lines = append(lines, e.Message+": "+e.Details)
		}
	}
	return strings.Join(lines, "\n")
}
