package workflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"

	"github.com/comfygate/comfygate/comfy/comfyjson"
)

// UIError is a problem with an editor (UI-format) workflow.
type UIError struct {
	NodeID  string // "" for the workflow as a whole
	Problem string
}

func (e *UIError) Error() string {
	if e.NodeID == "" {
		return "ui workflow: " + e.Problem
	}
	return "ui workflow: node " + e.NodeID + ": " + e.Problem
}

// IsUIFormat reports whether data is an editor workflow (top-level "nodes"
// and "links" arrays) rather than an API-format prompt.
func IsUIFormat(data []byte) bool {
	t, err := parseTree(bytes.TrimSpace(data), Limits{})
	if err != nil {
		return false
	}
	nodes, _ := member(t, "nodes")
	links, _ := member(t, "links")
	_, ok1 := nodes.([]any)
	_, ok2 := links.([]any)
	return ok1 && ok2
}

// Node modes of the editor.
const (
	modeMuted  = 2
	modeBypass = 4
)

// virtualTypes are editor-only node types that never reach the API format.
var virtualTypes = map[string]bool{"Reroute": true, "PrimitiveNode": true, "Note": true, "MarkdownNote": true}

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

type uiNode struct {
	id      string
	typ     string
	mode    int
	title   string
	srName  string // properties["Node name for S&R"]: the editor's name in %Node.widget% tokens
	inputs  []uiSlot
	outputs []uiSlot
	widgets any // array or object, nil when neither
	order   int
}

type uiSlot struct {
	name   string
	typ    string
	link   string // link id, "" when not connected
	widget string // widget name for widget inputs
}

type uiLink struct {
	origin     string
	originSlot int
	target     string
	targetSlot int
}

type uiGraph struct {
	nodes map[string]*uiNode
	ids   []string
	links map[string]uiLink
}

// FromUI converts an editor workflow to an API-format graph the way the
// official frontend's graphToPrompt does: widget values are mapped to input
// names by the catalog's input order (skipping connection-only inputs and
// the extra control_after_generate and upload widgets), muted nodes are
// dropped, bypassed nodes are wired through by type, Reroute and
// PrimitiveNode are resolved, Note and MarkdownNote dropped, and each node
// gets _meta.title. Links may be in the 0.4 array form or the 1.x object
// form. Subgraphs are not supported and give an error.
func FromUI(data []byte, cat *Catalog) (Graph, error) {
	t, err := parseTree(data, Limits{})
	if err != nil {
		return nil, &UIError{Problem: err.Error()}
	}
	ug, err := readUI(t)
	if err != nil {
		return nil, err
	}
	return ug.toAPI(cat)
}

func readUI(t any) (*uiGraph, error) {
	if _, ok := t.(comfyjson.Object); !ok {
		return nil, &UIError{Problem: "must be a JSON object"}
	}
	n, _ := member(t, "nodes")
	l, _ := member(t, "links")
	nodes, ok1 := n.([]any)
	links, ok2 := l.([]any)
	if !ok1 || !ok2 {
		return nil, &UIError{Problem: `needs "nodes" and "links" arrays`}
	}
	if len(nodes) > defaultMaxNodes {
		return nil, &LimitError{What: "nodes", Limit: defaultMaxNodes}
	}
	subgraphs := subgraphIDs(t)
	ug := &uiGraph{nodes: map[string]*uiNode{}, links: map[string]uiLink{}}
	for i, nv := range nodes {
		n, err := readUINode(nv, i)
		if err != nil {
			return nil, err
		}
		if subgraphs[n.typ] || (uuidPattern.MatchString(n.typ) && n.mode != modeMuted) {
			return nil, &UIError{NodeID: n.id, Problem: "subgraphs are not supported; convert the subgraph to nodes in the editor first"}
		}
		if _, dup := ug.nodes[n.id]; dup {
			return nil, &UIError{NodeID: n.id, Problem: "duplicate node id"}
		}
		ug.nodes[n.id] = n
		ug.ids = append(ug.ids, n.id)
	}
	for _, lv := range links {
		id, l, ok := readUILink(lv)
		if ok {
			ug.links[id] = l
		}
	}
	return ug, nil
}

func subgraphIDs(t any) map[string]bool {
	out := map[string]bool{}
	defs, _ := member(t, "definitions")
	sgs, _ := member(defs, "subgraphs")
	list, _ := sgs.([]any)
	for _, sg := range list {
		if id, ok := member(sg, "id"); ok {
			if s, ok := id.(string); ok {
				out[s] = true
			}
		}
	}
	return out
}

func readUINode(v any, order int) (*uiNode, error) {
	if _, ok := v.(comfyjson.Object); !ok {
		return nil, &UIError{Problem: fmt.Sprintf("nodes[%d] is not an object", order)}
	}
	n := &uiNode{order: order}
	id, _ := member(v, "id")
	var ok bool
	if n.id, ok = text(id); !ok {
		return nil, &UIError{Problem: fmt.Sprintf("nodes[%d] has no id", order)}
	}
	n.typ = strField(v, "type")
	if n.typ == "" {
		return nil, &UIError{NodeID: n.id, Problem: "no type"}
	}
	if m, ok := member(v, "mode"); ok {
		if lit, ok := m.(json.Number); ok {
			fmt.Sscan(string(lit), &n.mode)
		}
	}
	n.title = strField(v, "title")
	if props, ok := member(v, "properties"); ok {
		if _, isObj := props.(comfyjson.Object); isObj {
			n.srName = strField(props, "Node name for S&R")
		}
	}
	n.inputs = readSlots(v, "inputs")
	n.outputs = readSlots(v, "outputs")
	switch w, _ := member(v, "widgets_values"); w.(type) {
	case []any, comfyjson.Object:
		n.widgets = w
	}
	return n, nil
}

func strField(v any, key string) string {
	e, _ := member(v, key)
	s, _ := e.(string)
	return s
}

func readSlots(v any, key string) []uiSlot {
	l, _ := member(v, key)
	list, ok := l.([]any)
	if !ok {
		return nil
	}
	out := make([]uiSlot, 0, len(list))
	for _, s := range list {
		if _, ok := s.(comfyjson.Object); !ok {
			out = append(out, uiSlot{})
			continue
		}
		slot := uiSlot{name: strField(s, "name"), typ: strField(s, "type")}
		if l, ok := member(s, "link"); ok {
			if lit, ok := l.(json.Number); ok {
				slot.link = string(lit)
			}
		}
		if w, ok := member(s, "widget"); ok {
			slot.widget = strField(w, "name")
		}
		out = append(out, slot)
	}
	return out
}

// readUILink reads [id, origin, origin_slot, target, target_slot, type] or
// {"id", "origin_id", "origin_slot", "target_id", "target_slot", ...}.
func readUILink(v any) (string, uiLink, bool) {
	var vals [5]any
	switch x := v.(type) {
	case []any:
		if len(x) < 5 {
			return "", uiLink{}, false
		}
		copy(vals[:], x[:5])
	case comfyjson.Object:
		for i, k := range []string{"id", "origin_id", "origin_slot", "target_id", "target_slot"} {
			vals[i], _ = x.Get(k)
		}
	default:
		return "", uiLink{}, false
	}
	var parts [5]string
	for i, p := range vals {
		var ok bool
		if parts[i], ok = text(p); !ok {
			return "", uiLink{}, false
		}
	}
	l := uiLink{origin: parts[1], target: parts[3]}
	if _, err := fmt.Sscan(parts[2], &l.originSlot); err != nil {
		return "", uiLink{}, false
	}
	if _, err := fmt.Sscan(parts[4], &l.targetSlot); err != nil {
		return "", uiLink{}, false
	}
	return parts[0], l, true
}

// sortedIDs returns the node ids in execution order: upstream first, ties
// by id, as the frontend's computeExecutionOrder lays prompts out.
func (ug *uiGraph) sortedIDs() []string {
	ids := slices.Clone(ug.ids)
	slices.SortFunc(ids, NaturalCompare)
	indeg := map[string]int{}
	next := map[string][]string{}
	for _, l := range ug.links {
		if _, ok := ug.nodes[l.origin]; !ok || ug.nodes[l.target] == nil || l.origin == l.target {
			continue
		}
		indeg[l.target]++
		next[l.origin] = append(next[l.origin], l.target)
	}
	var out []string
	done := map[string]bool{}
	for len(out) < len(ids) {
		progressed := false
		for _, id := range ids {
			if done[id] || indeg[id] > 0 {
				continue
			}
			done[id], progressed = true, true
			out = append(out, id)
			for _, t := range next[id] {
				indeg[t]--
			}
			break
		}
		if !progressed { // a cycle: keep the rest in id order
			for _, id := range ids {
				if !done[id] {
					out = append(out, id)
				}
			}
		}
	}
	return out
}
