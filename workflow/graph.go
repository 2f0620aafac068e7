package workflow

import (
	"encoding/json"
	"maps"
	"math/big"
	"slices"
	"strconv"
	"strings"
)

// Graph is an API-format prompt: node id → node. Decode it with ParseGraph
// (or json.Unmarshal), which keeps numbers as json.Number and remembers the
// order of nodes and inputs; IDs lists the nodes in that order.
type Graph map[string]*Node

// Node is one node of a Graph.
//
// Inputs values are nil, bool, json.Number, string, []any, map[string]any.
// A link to output slot s of node id is []any{id, json.Number(s)} (see Link).
// A constant list is wrapped as map[string]any{"__value__": []any{...}}.
type Node struct {
	ClassType string
	Inputs    map[string]any
	// Meta is the node's "_meta" object ({"title": ...} from the editor).
	Meta map[string]any

	pos       int      // 1-based position in the decoded graph; 0 if built in code
	keys      []string // top-level keys in decoded order
	inputKeys []string // input names in decoded order
	// extra holds other top-level keys, and class_type, inputs or _meta when
	// they are not of the expected JSON type.
	extra map[string]json.RawMessage
	q     *nodeQuirk
}

// nodeQuirk records how a node decoded from an untrusted POST /prompt body
// departs from the expected shape, so that validation can answer exactly as
// ComfyUI does for it.
type nodeQuirk struct {
	notObject       bool // the node is not a JSON object
	crash           bool // notObject and ComfyUI raises on it (500)
	noClassType     bool // no "class_type" key (or notObject without crash)
	classNotStr     bool // class_type is a number, bool or null: ClassType is str() of it
	classUnhashable bool // class_type is a list or object: the class lookup raises
	noInputs        bool // no "inputs" key
	badInputs       bool // "inputs" is not an object: inputs holds it
	inputs          any
	raw             json.RawMessage
}

// Link returns the input value that connects output slot of node id.
func Link(id string, slot int) []any {
	return []any{id, json.Number(strconv.Itoa(slot))}
}

// AsLink reports whether v is a link as ComfyUI's is_link sees it (a
// two-element list of a string id and a number) and returns its parts. The
// slot is ok only when it is an integer that fits an int.
func AsLink(v any) (id string, slot int, ok bool) {
	l, isList := v.([]any)
	if !isList || len(l) != 2 {
		return "", 0, false
	}
	id, isStr := l[0].(string)
	if !isStr {
		return "", 0, false
	}
	n, isInt := bigIntOf(l[1])
	if !isInt || kindOf(l[1]) == pyBool || !n.IsInt64() {
		return "", 0, false
	}
	return id, int(n.Int64()), true
}

// NewNode returns a node of class with the given inputs (which it keeps).
func NewNode(class string, inputs map[string]any) *Node {
	if inputs == nil {
		inputs = map[string]any{}
	}
	return &Node{ClassType: class, Inputs: inputs}
}

// Title returns _meta.title, or "".
func (n *Node) Title() string {
	t, _ := n.Meta["title"].(string)
	return t
}

// IDs returns the node ids in decoded order; nodes added in code follow, in
// natural order ("2" before "10").
func (g Graph) IDs() []string {
	ids := slices.Collect(maps.Keys(g))
	slices.SortFunc(ids, func(a, b string) int {
		pa, pb := g[a].position(), g[b].position()
		if pa != pb {
			return pa - pb
		}
		return NaturalCompare(a, b)
	})
	return ids
}

func (n *Node) position() int {
	if n == nil || n.pos == 0 {
		return 1 << 30
	}
	return n.pos
}

// InputNames returns the node's input names in decoded order, then the
// others sorted.
func (n *Node) InputNames() []string {
	names := make([]string, 0, len(n.Inputs))
	seen := make(map[string]bool, len(n.Inputs))
	for _, k := range n.inputKeys {
		if _, ok := n.Inputs[k]; ok && !seen[k] {
			names = append(names, k)
			seen[k] = true
		}
	}
	rest := make([]string, 0)
	for k := range n.Inputs {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	return append(names, rest...)
}

// NaturalCompare orders node ids: runs of digits compare as numbers.
func NaturalCompare(a, b string) int {
	for a != "" && b != "" {
		ra, restA := nextRun(a)
		rb, restB := nextRun(b)
		if c := compareRun(ra, rb); c != 0 {
			return c
		}
		a, b = restA, restB
	}
	return len(a) - len(b)
}

func nextRun(s string) (run, rest string) {
	digit := isDigit(s[0])
	i := 1
	for i < len(s) && isDigit(s[i]) == digit {
		i++
	}
	return s[:i], s[i:]
}

func compareRun(a, b string) int {
	if isDigit(a[0]) && isDigit(b[0]) {
		ta, tb := strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
		if len(ta) != len(tb) {
			return len(ta) - len(tb)
		}
		if c := strings.Compare(ta, tb); c != 0 {
			return c
		}
	}
	return strings.Compare(a, b)
}

// Clone returns a deep copy of the graph.
func (g Graph) Clone() Graph {
	if g == nil {
		return nil
	}
	out := make(Graph, len(g))
	for id, n := range g {
		out[id] = n.Clone()
	}
	return out
}

// Clone returns a deep copy of the node.
func (n *Node) Clone() *Node {
	if n == nil {
		return nil
	}
	c := *n
	c.Inputs = cloneMap(n.Inputs)
	c.Meta = cloneMap(n.Meta)
	c.keys = slices.Clone(n.keys)
	c.inputKeys = slices.Clone(n.inputKeys)
	c.extra = maps.Clone(n.extra)
	if n.q != nil {
		q := *n.q
		c.q = &q
	}
	return &c
}

func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cloneValue(e)
		}
		return out
	case map[string]any:
		return cloneMap(x)
	case *big.Int:
		return new(big.Int).Set(x)
	}
	return v
}
