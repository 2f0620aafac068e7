package workflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// GraphError is a structural problem in a graph, naming the node and field.
type GraphError struct {
	NodeID string // "" for the graph itself
	Field  string // "class_type", "inputs", "_meta", or ""
	Reason string
}

func (e *GraphError) Error() string {
	switch {
	case e.NodeID == "":
		return "graph: " + e.Reason
	case e.Field == "":
		return fmt.Sprintf("node %q: %s", e.NodeID, e.Reason)
	}
	return fmt.Sprintf("node %q: %s: %s", e.NodeID, e.Field, e.Reason)
}

// ParseGraph decodes an API-format graph strictly: the top level and every
// node must be objects, class_type a string, inputs and _meta objects. A
// node without inputs is accepted (validation reports it as ComfyUI does).
func ParseGraph(data []byte, lim Limits) (Graph, error) {
	t, err := parseTree(data, lim)
	if err != nil {
		return nil, fmt.Errorf("graph: %w", err)
	}
	return graphFromTree(t, lim.withDefaults(), true)
}

// UnmarshalJSON decodes with ParseGraph and default Limits.
func (g *Graph) UnmarshalJSON(data []byte) error {
	out, err := ParseGraph(data, Limits{})
	if err != nil {
		return err
	}
	*g = out
	return nil
}

func graphFromTree(t *jval, lim Limits, strict bool) (Graph, error) {
	if t.kind != jObj {
		return nil, &GraphError{Reason: "must be a JSON object of nodes, got " + kindName(t)}
	}
	if len(t.keys) > lim.MaxNodes {
		return nil, &LimitError{What: "nodes", Limit: lim.MaxNodes}
	}
	g := make(Graph, len(t.keys))
	for i, id := range t.keys {
		n, err := nodeFromTree(id, t.vals[i], strict)
		if err != nil {
			return nil, err
		}
		n.pos = i + 1
		g[id] = n
	}
	return g, nil
}

func kindName(v *jval) string {
	return [...]string{"null", "boolean", "number", "string", "array", "object"}[v.kind]
}

func nodeFromTree(id string, v *jval, strict bool) (*Node, error) {
	if v.kind != jObj {
		if strict {
			return nil, &GraphError{NodeID: id, Reason: "must be an object, got " + kindName(v)}
		}
		return &Node{q: notObjectQuirk(v)}, nil
	}
	n := &Node{keys: slices.Clone(v.keys)}
	q := &nodeQuirk{}
	if _, ok := v.get("class_type"); !ok {
		if strict {
			return nil, &GraphError{NodeID: id, Field: "class_type", Reason: "missing"}
		}
		q.noClassType = true
	}
	if _, ok := v.get("inputs"); !ok {
		q.noInputs = true
	}
	for i, k := range v.keys {
		if err := n.setField(id, k, v.vals[i], q, strict); err != nil {
			return nil, err
		}
	}
	if q.noClassType || q.classNotStr || q.classUnhashable || q.noInputs || q.inputs != nil {
		n.q = q
	}
	return n, nil
}

// notObjectQuirk reproduces `'class_type' not in node`: a substring test on a
// string, membership on a list, and a TypeError on anything else.
func notObjectQuirk(v *jval) *nodeQuirk {
	q := &nodeQuirk{notObject: true, noClassType: true, raw: v.raw()}
	switch v.kind {
	case jStr:
		q.crash = strings.Contains(v.s, "class_type")
	case jArr:
		for _, e := range v.arr {
			if e.kind == jStr && e.s == "class_type" {
				q.crash = true
			}
		}
	default:
		q.crash = true
	}
	return q
}

func (n *Node) setField(id, key string, v *jval, q *nodeQuirk, strict bool) error {
	bad := func(want string) error {
		if strict {
			return &GraphError{NodeID: id, Field: key, Reason: "must be " + want + ", got " + kindName(v)}
		}
		n.setExtra(key, v.raw())
		return nil
	}
	switch key {
	case "class_type":
		switch v.kind {
		case jStr:
			n.ClassType = v.s
			return nil
		case jArr, jObj:
			q.classUnhashable = true
		default:
			q.classNotStr = true
			n.ClassType = v.pyStr()
		}
		return bad("a string")
	case "inputs":
		if v.kind != jObj {
			q.inputs = v
			return bad("an object")
		}
		n.Inputs = v.toAny().(map[string]any)
		n.inputKeys = slices.Clone(v.keys)
	case "_meta":
		if v.kind != jObj {
			return bad("an object")
		}
		n.Meta = v.toAny().(map[string]any)
	default:
		n.setExtra(key, v.raw())
	}
	return nil
}

func (n *Node) setExtra(key string, raw json.RawMessage) {
	if n.extra == nil {
		n.extra = map[string]json.RawMessage{}
	}
	n.extra[key] = raw
}

// MarshalJSON writes the nodes in IDs order.
func (g Graph) MarshalJSON() ([]byte, error) {
	if g == nil {
		return []byte("null"), nil
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, id := range g.IDs() {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSONString(&b, id)
		b.WriteByte(':')
		nb, err := g[id].MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("node %q: %w", id, err)
		}
		b.Write(nb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// MarshalJSON writes the node's keys in decoded order (class_type, inputs,
// _meta for nodes built in code), inputs in decoded order, numbers exactly.
func (n *Node) MarshalJSON() ([]byte, error) {
	if n == nil {
		return []byte("null"), nil
	}
	if n.q != nil && n.q.notObject {
		return n.q.raw, nil
	}
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	for _, k := range n.fieldOrder() {
		raw, ok, err := n.fieldJSON(k)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		if !ok {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		writeJSONString(&b, k)
		b.WriteByte(':')
		b.Write(raw)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func (n *Node) fieldOrder() []string {
	order := slices.Clone(n.keys)
	for _, k := range []string{"class_type", "inputs", "_meta"} {
		if !slices.Contains(order, k) {
			order = append(order, k)
		}
	}
	var rest []string
	for k := range n.extra {
		if !slices.Contains(order, k) {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	return append(order, rest...)
}

func (n *Node) fieldJSON(key string) (json.RawMessage, bool, error) {
	if raw, ok := n.extra[key]; ok {
		return raw, true, nil
	}
	switch key {
	case "class_type":
		if n.q != nil && n.q.noClassType {
			return nil, false, nil
		}
		raw, err := json.Marshal(n.ClassType)
		return raw, true, err
	case "inputs":
		if n.Inputs == nil && n.q != nil && n.q.noInputs {
			return nil, false, nil
		}
		raw, err := n.inputsJSON()
		return raw, true, err
	case "_meta":
		if n.Meta == nil {
			return nil, false, nil
		}
		raw, err := marshalValue(n.Meta)
		return raw, true, err
	}
	return nil, false, nil
}

func (n *Node) inputsJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range n.InputNames() {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSONString(&b, k)
		b.WriteByte(':')
		raw, err := marshalValue(n.Inputs[k])
		if err != nil {
			return nil, fmt.Errorf("input %q: %w", k, err)
		}
		b.Write(raw)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func marshalValue(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
