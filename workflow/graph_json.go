package workflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/comfygate/comfygate/comfy/comfyjson"
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

func graphFromTree(v any, lim Limits, strict bool) (Graph, error) {
	t, ok := v.(comfyjson.Object)
	if !ok {
		return nil, &GraphError{Reason: "must be a JSON object of nodes, got " + kindName(v)}
	}
	if len(t) > lim.MaxNodes {
		return nil, &LimitError{What: "nodes", Limit: lim.MaxNodes}
	}
	g := make(Graph, len(t))
	for i, m := range t {
		n, err := nodeFromTree(m.Key, m.Value, strict)
		if err != nil {
			return nil, err
		}
		n.pos = i + 1
		g[m.Key] = n
	}
	return g, nil
}

func nodeFromTree(id string, v any, strict bool) (*Node, error) {
	obj, ok := v.(comfyjson.Object)
	if !ok {
		if strict {
			return nil, &GraphError{NodeID: id, Reason: "must be an object, got " + kindName(v)}
		}
		return &Node{q: notObjectQuirk(v)}, nil
	}
	n := &Node{keys: obj.Keys()}
	q := &nodeQuirk{}
	if !obj.Has("class_type") {
		if strict {
			return nil, &GraphError{NodeID: id, Field: "class_type", Reason: "missing"}
		}
		q.noClassType = true
	}
	if !obj.Has("inputs") {
		q.noInputs = true
	}
	for _, m := range obj {
		if err := n.setField(id, m.Key, m.Value, q, strict); err != nil {
			return nil, err
		}
	}
	if q.noClassType || q.classNotStr || q.classUnhashable || q.noInputs || q.badInputs {
		n.q = q
	}
	return n, nil
}

// notObjectQuirk reproduces `'class_type' not in node`: a substring test on a
// string, membership on a list, and a TypeError on anything else.
func notObjectQuirk(v any) *nodeQuirk {
	q := &nodeQuirk{notObject: true, noClassType: true, raw: rawJSON(v)}
	switch x := v.(type) {
	case string:
		q.crash = strings.Contains(x, "class_type")
	case []any:
		q.crash = slices.Contains(x, any("class_type"))
	default:
		q.crash = true
	}
	return q
}

func (n *Node) setField(id, key string, v any, q *nodeQuirk, strict bool) error {
	bad := func(want string) error {
		if strict {
			return &GraphError{NodeID: id, Field: key, Reason: "must be " + want + ", got " + kindName(v)}
		}
		n.setExtra(key, rawJSON(v))
		return nil
	}
	obj, isObj := v.(comfyjson.Object)
	switch key {
	case "class_type":
		switch x := v.(type) {
		case string:
			n.ClassType = x
			return nil
		case []any, comfyjson.Object:
			q.classUnhashable = true
		default:
			q.classNotStr = true
			n.ClassType = comfyjson.Str(v)
		}
		return bad("a string")
	case "inputs":
		if !isObj {
			q.inputs, q.badInputs = v, true
			return bad("an object")
		}
		n.Inputs = comfyjson.Plain(obj).(map[string]any)
		n.inputKeys = obj.Keys()
	case "_meta":
		if !isObj {
			return bad("an object")
		}
		n.Meta = comfyjson.Plain(obj).(map[string]any)
	default:
		n.setExtra(key, rawJSON(v))
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
	ids := g.IDs()
	members := make([]rawMember, len(ids))
	for i, id := range ids {
		raw, err := g[id].MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("node %q: %w", id, err)
		}
		members[i] = rawMember{id, raw}
	}
	return writeObject(members), nil
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
	var members []rawMember
	for _, k := range n.fieldOrder() {
		raw, ok, err := n.fieldJSON(k)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		if ok {
			members = append(members, rawMember{k, raw})
		}
	}
	return writeObject(members), nil
}

// rawMember is one member of an object being written: its key and its
// value, already encoded.
type rawMember struct {
	key string
	raw []byte
}

// writeObject writes members compactly in order, keys quoted as
// json.Marshal quotes them.
func writeObject(members []rawMember) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range members {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(m.key) // a string always encodes
		b.Write(k)
		b.WriteByte(':')
		b.Write(m.raw)
	}
	b.WriteByte('}')
	return b.Bytes()
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
		raw, err := comfyjson.Marshal(n.Meta)
		return raw, true, err
	}
	return nil, false, nil
}

func (n *Node) inputsJSON() ([]byte, error) {
	names := n.InputNames()
	members := make([]rawMember, len(names))
	for i, k := range names {
		raw, err := comfyjson.Marshal(n.Inputs[k])
		if err != nil {
			return nil, fmt.Errorf("input %q: %w", k, err)
		}
		members[i] = rawMember{k, raw}
	}
	return writeObject(members), nil
}
