package workflow

import (
	"encoding/json"
	"math"
	"slices"
	"strings"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/comfy/comfyjson"
)

// validation is one run of validate_prompt's per-output checks.
type validation struct {
	cat  *Catalog
	g    Graph
	opts ValidateOptions
	// done is ComfyUI's `validated` dict; order keeps its insertion order.
	done  map[string]*nodeResult
	order []string
	// active marks nodes whose check is in progress. ComfyUI recurses
	// without end on a cycle and, once the recursion error has unwound,
	// reports the cycle's nodes as invalid without errors of their own;
	// a link back into an active node reproduces that outcome.
	active        map[string]bool
	outputReasons map[string][]comfy.ErrorInfo
}

type nodeResult struct {
	valid  bool
	errors []comfy.ErrorInfo
}

func (v *validation) set(id string, r *nodeResult) {
	if _, ok := v.done[id]; !ok {
		v.order = append(v.order, id)
	}
	v.done[id] = r
}

// validateOutput checks output node o; an exception escaping its own check
// becomes exception_during_validation on it.
func (v *validation) validateOutput(o string) *nodeResult {
	r, exc := v.validateNode(o)
	if exc != nil {
		r = &nodeResult{errors: []comfy.ErrorInfo{{
			Type: "exception_during_validation", Message: "Exception when validating node",
			Details: exc.Message,
			ExtraInfo: map[string]any{
				"exception_type": exc.Type,
				"traceback":      traceback(v.opts.TracebackRoot, frOutputCall, exc),
			},
		}}}
		v.set(o, r)
	}
	if v.outputReasons == nil {
		v.outputReasons = map[string][]comfy.ErrorInfo{}
	}
	v.outputReasons[o] = r.errors
	return r
}

// validateNode is validate_inputs: it returns the node's verdict, or the
// exception that escaped its check.
func (v *validation) validateNode(id string) (*nodeResult, *PyException) {
	if r, ok := v.done[id]; ok {
		return r, nil
	}
	if v.active[id] {
		return &nodeResult{}, nil
	}
	v.active[id] = true
	defer delete(v.active, id)
	n := v.g[id]
	if n.q != nil && n.q.noInputs {
		return nil, excWithFrames(&PyException{Type: "KeyError", Message: "'inputs'"}, frGetInputs)
	}
	nc := &nodeCheck{v: v, n: n, cls: v.cat.classes[n.ClassType], fn: v.cat.validator(n.ClassType), valid: true}
	for _, spec := range declaredInputs(nc.cls) {
		if exc := nc.checkInput(spec); exc != nil {
			return nil, exc
		}
	}
	if nc.fn != nil {
		if exc := nc.runValidator(); exc != nil {
			return nil, exc
		}
	}
	r := &nodeResult{valid: nc.valid && len(nc.errors) == 0, errors: nc.errors}
	v.set(id, r)
	return r, nil
}

// declaredInputs are the required then optional inputs (hidden ones are not
// validated); a name in both sections counts as required.
func declaredInputs(cls *NodeClass) []*InputSpec {
	var out []*InputSpec
	seen := map[string]bool{}
	for _, in := range cls.Inputs {
		if in.Section == SectionHidden || seen[in.Name] {
			continue
		}
		seen[in.Name] = true
		out = append(out, in)
	}
	return out
}

// nodeCheck is the state of one validate_inputs call.
type nodeCheck struct {
	v      *validation
	n      *Node
	cls    *NodeClass
	fn     *Validator
	valid  bool
	errors []comfy.ErrorInfo
}

func (c *nodeCheck) fail(typ, msg, details string, extra map[string]any) {
	c.errors = append(c.errors, comfy.ErrorInfo{Type: typ, Message: msg, Details: details, ExtraInfo: extra})
}

func (c *nodeCheck) checkInput(spec *InputSpec) *PyException {
	present, val, exc := c.n.lookupInput(spec.Name)
	if exc != nil {
		return exc
	}
	if !present {
		if spec.Section == SectionRequired {
			c.fail("required_input_missing", "Required input is missing", spec.Name,
				map[string]any{"input_name": spec.Name})
		}
		return nil
	}
	if list, ok := val.([]any); ok {
		return c.checkLink(spec, list)
	}
	return c.checkConstant(spec, val)
}

// lookupInput is `x not in inputs` then `inputs[x]`, including what Python
// does when "inputs" is not a dict.
func (n *Node) lookupInput(name string) (bool, any, *PyException) {
	if n.q == nil || !n.q.badInputs {
		v, ok := n.Inputs[name]
		return ok, v, nil
	}
	in := n.q.inputs
	switch x := in.(type) {
	case []any:
		if slices.Contains(x, any(name)) {
			return false, nil, excWithFrames(&PyException{Type: "TypeError",
				Message: "list indices must be integers or slices, not str"}, frInputGet)
		}
		return false, nil, nil
	case string:
		if strings.Contains(x, name) {
			return false, nil, excWithFrames(&PyException{Type: "TypeError",
				Message: "string indices must be integers, not 'str'"}, frInputGet)
		}
		return false, nil, nil
	}
	return false, nil, excWithFrames(&PyException{Type: "TypeError",
		Message: "argument of type '" + pyTypeName(in) + "' is not iterable"}, frInputIn)
}

func (c *nodeCheck) checkLink(spec *InputSpec, link []any) *PyException {
	if len(link) != 2 {
		c.fail("bad_linked_input", "Bad linked input, must be a length-2 list of [node_id, slot_index]", spec.Name,
			map[string]any{"input_name": spec.Name, "input_config": spec.config(), "received_value": link})
		return nil
	}
	srcID, exc := c.v.lookupNode(link[0])
	if exc != nil {
		return excWithFrames(exc, frLinkNode)
	}
	received, exc := returnType(c.v.cat.classes[c.v.g[srcID].ClassType], link[1])
	if exc != nil {
		return excWithFrames(exc, frLinkSlot)
	}
	if !(c.fn != nil && c.fn.InputTypes) && !typesMatch(received, spec.pyType) {
		c.fail("return_type_mismatch", "Return type mismatch between linked nodes",
			spec.Name+", received_type("+comfyjson.Str(received)+") mismatch input_type("+comfyjson.Str(spec.pyType)+")",
			map[string]any{"input_name": spec.Name, "input_config": spec.config(),
				"received_type": received, "linked_node": link})
		return nil
	}
	r, exc := c.v.validateNode(srcID)
	if exc != nil {
		c.valid = false
		c.v.set(srcID, &nodeResult{errors: []comfy.ErrorInfo{{
			Type: "exception_during_inner_validation", Message: "Exception when validating inner node",
			Details: exc.Message,
			ExtraInfo: map[string]any{
				"input_name": spec.Name, "input_config": spec.config(),
				"exception_message": exc.Message, "exception_type": exc.Type,
				"traceback":   traceback(c.v.opts.TracebackRoot, frInnerCall, exc),
				"linked_node": link,
			},
		}}})
		return nil
	}
	if !r.valid {
		c.valid = false
	}
	return nil
}

// lookupNode is `prompt[o_id]` for a link's source id.
func (v *validation) lookupNode(id any) (string, *PyException) {
	switch kindOf(id) {
	case pyStrK:
		s := id.(string)
		if _, ok := v.g[s]; ok {
			return s, nil
		}
	case pyList, pyDict:
		return "", &PyException{Type: "TypeError", Message: "unhashable type: '" + pyTypeName(id) + "'"}
	}
	return "", &PyException{Type: "KeyError", Message: comfyjson.Repr(id)}
}

// returnType is `RETURN_TYPES[slot]`: a tuple for V1 nodes, a list for V3.
func returnType(cls *NodeClass, slot any) (any, *PyException) {
	seq := "tuple"
	if cls.V3 {
		seq = "list"
	}
	k := kindOf(slot)
	if k != pyInt && k != pyBool {
		return nil, &PyException{Type: "TypeError",
			Message: seq + " indices must be integers or slices, not " + pyTypeName(slot)}
	}
	n, _ := bigIntOf(slot)
	if !n.IsInt64() {
		return nil, &PyException{Type: "IndexError", Message: "cannot fit 'int' into an index-sized integer"}
	}
	i := n.Int64()
	if i < 0 {
		i += int64(len(cls.Outputs))
	}
	if i < 0 || i >= int64(len(cls.Outputs)) {
		return nil, &PyException{Type: "IndexError", Message: seq + " index out of range"}
	}
	return cls.Outputs[i].pyType, nil
}

// typesMatch is validate_node_input in its non-strict mode, with "*" on
// either side matching anything (ComfyUI's any-type, IO.ANY, overrides
// string inequality to that effect).
func typesMatch(received, input any) bool {
	if received == "*" || input == "*" {
		return true
	}
	if pyEqual(received, input) {
		return true
	}
	r, ok1 := received.(string)
	in, ok2 := input.(string)
	if !ok1 || !ok2 {
		return false
	}
	want := map[string]bool{}
	for _, t := range strings.Split(in, ",") {
		want[strings.TrimSpace(t)] = true
	}
	for _, t := range strings.Split(r, ",") {
		if want[strings.TrimSpace(t)] {
			return true
		}
	}
	return false
}

// converted is a constant after the declared type's conversion: val for
// comparisons and messages, wire for received_value and the graph.
type converted struct {
	val  any
	wire any
}

// convert applies int()/float()/str()/bool() for INT, FLOAT, STRING and
// BOOLEAN inputs. Non-finite floats stay as sent in the graph, as they
// have no JSON form.
func convert(typ any, val any) (converted, *PyException) {
	switch typ {
	case "INT":
		n, exc := pyIntConv(val)
		if exc != nil {
			return converted{}, exc
		}
		lit := json.Number(n.String())
		return converted{val: lit, wire: lit}, nil
	case "FLOAT":
		f, exc := pyFloatConv(val)
		if exc != nil {
			return converted{}, exc
		}
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return converted{val: f, wire: val}, nil
		}
		lit := json.Number(comfyjson.FloatRepr(f))
		return converted{val: lit, wire: lit}, nil
	case "STRING":
		s := comfyjson.Str(val)
		return converted{val: s, wire: s}, nil
	case "BOOLEAN":
		b := pyTruth(val)
		return converted{val: b, wire: b}, nil
	}
	return converted{val: val, wire: val}, nil
}
