package engine

import (
	"encoding/json"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/comfygate/comfygate/comfy/comfyjson"
	"github.com/comfygate/comfygate/comfy/comfysim/internal/nodes"
	"github.com/comfygate/comfygate/workflow"
)

// uiEntry is one node's UI output in the ui cache.
type uiEntry struct {
	meta   comfyjson.Object
	output comfyjson.Object
}

type objKey struct{ id, class string }

// cacheSet is ComfyUI's classic CacheSet: outputs and UI keyed by input
// signature (so an identical node under another id is a hit), node
// instances keyed by id and class, and everything not used by the most
// recent prompt dropped.
type cacheSet struct {
	outputs map[string][]any
	ui      map[string]uiEntry
	objects map[objKey]nodes.Node

	keys map[string]string // node id → signature, for the current prompt
}

func newCacheSet() *cacheSet {
	return &cacheSet{
		outputs: map[string][]any{},
		ui:      map[string]uiEntry{},
		objects: map[objKey]nodes.Node{},
		keys:    map[string]string{},
	}
}

// setPrompt computes every node's signature and drops entries the prompt
// does not use (set_prompt followed by clean_unused).
func (c *cacheSet) setPrompt(p *prompt, isChanged func(*node) string) {
	s := &signer{p: p, isChanged: isChanged, immediate: map[string]string{}}
	c.keys = make(map[string]string, len(p.order))
	used := make(map[string]bool, len(p.order))
	usedObj := make(map[objKey]bool, len(p.order))
	for _, id := range p.order {
		k := s.signature(id)
		c.keys[id] = k
		used[k] = true
		usedObj[objKey{id, p.nodes[id].class}] = true
	}
	for k := range c.outputs {
		if !used[k] {
			delete(c.outputs, k)
		}
	}
	for k := range c.ui {
		if !used[k] {
			delete(c.ui, k)
		}
	}
	for k := range c.objects {
		if !usedObj[k] {
			delete(c.objects, k)
		}
	}
}

func (c *cacheSet) output(id string) ([]any, bool) {
	k, ok := c.keys[id]
	if !ok {
		return nil, false
	}
	v, ok := c.outputs[k]
	return v, ok
}

func (c *cacheSet) setOutput(id string, v []any) { c.outputs[c.keys[id]] = v }

func (c *cacheSet) uiOf(id string) (uiEntry, bool) {
	v, ok := c.ui[c.keys[id]]
	return v, ok
}

func (c *cacheSet) setUI(id string, e uiEntry) { c.ui[c.keys[id]] = e }

// signer builds CacheKeySetInputSignature keys.
type signer struct {
	p         *prompt
	isChanged func(*node) string
	immediate map[string]string
}

// signature is the node's own signature followed by its ancestors', the
// ancestors ordered by a depth-first walk over sorted input names.
func (s *signer) signature(id string) string {
	var ancestors []string
	order := map[string]int{}
	s.ancestry(id, &ancestors, order)
	var b strings.Builder
	b.WriteString(s.immediateSig(id, order))
	for _, a := range ancestors {
		b.WriteByte('|')
		b.WriteString(s.immediateSig(a, order))
	}
	return b.String()
}

func (s *signer) ancestry(id string, ancestors *[]string, order map[string]int) {
	n := s.p.nodes[id]
	if n == nil {
		return
	}
	for _, in := range sortedInputs(n) {
		if !in.link {
			continue
		}
		if _, seen := order[in.from]; seen {
			continue
		}
		*ancestors = append(*ancestors, in.from)
		order[in.from] = len(*ancestors) - 1
		s.ancestry(in.from, ancestors, order)
	}
}

func sortedInputs(n *node) []input {
	ins := slices.Clone(n.inputs)
	slices.SortFunc(ins, func(a, b input) int { return strings.Compare(a.name, b.name) })
	return ins
}

func (s *signer) immediateSig(id string, order map[string]int) string {
	n := s.p.nodes[id]
	if n == nil {
		return "NaN#" + id // a missing node never matches
	}
	var b strings.Builder
	b.WriteString(strconv.Quote(n.class))
	b.WriteByte(',')
	b.WriteString(s.isChanged(n))
	if includesID(n.def) {
		b.WriteString(",id=" + strconv.Quote(id))
	}
	for _, in := range sortedInputs(n) {
		b.WriteString("," + strconv.Quote(in.name) + "=")
		if in.link {
			b.WriteString("A" + strconv.Itoa(order[in.from]) + ":" + in.slot.key())
			continue
		}
		writeHashable(&b, in.value)
	}
	return b.String()
}

// includesID reports a class with a hidden UNIQUE_ID input, whose cache key
// includes the node id.
func includesID(def *workflow.NodeClass) bool {
	if def == nil {
		return false
	}
	for _, in := range def.Section(workflow.SectionHidden) {
		if in.Type == "UNIQUE_ID" {
			return true
		}
	}
	return false
}

// writeHashable writes a canonical form of a constant in which values equal
// in Python (1, 1.0 and True) are equal.
func writeHashable(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("None")
	case bool:
		if x {
			b.WriteString("1")
		} else {
			b.WriteString("0")
		}
	case json.Number:
		b.WriteString(canonicalNumber(string(x)))
	case string:
		b.WriteString(strconv.Quote(x))
	case []any:
		b.WriteByte('[')
		for _, e := range x {
			writeHashable(b, e)
			b.WriteByte(',')
		}
		b.WriteByte(']')
	case map[string]any:
		b.WriteByte('{')
		for _, k := range slices.Sorted(maps.Keys(x)) {
			b.WriteString(strconv.Quote(k) + ":")
			writeHashable(b, x[k])
			b.WriteByte(',')
		}
		b.WriteByte('}')
	default:
		b.WriteString("?")
	}
}

func canonicalNumber(lit string) string {
	n := string(comfyjson.Number(lit))
	if !comfyjson.IsFloatLiteral(n) {
		return n
	}
	f, err := strconv.ParseFloat(n, 64)
	if err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return strconv.FormatInt(int64(f), 10)
	}
	return n
}
