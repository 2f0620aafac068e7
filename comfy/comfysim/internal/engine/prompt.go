// Package engine runs prompts the way ComfyUI 0.3.64's PromptExecutor does:
// the same node order (ExecutionList with its "output nodes first" pick),
// the same classic cache (outputs keyed by input signature, only the most
// recent prompt's entries kept), the same progress registry and the same
// messages, targeted or broadcast by the same rules.
//
// It knows nothing about HTTP or sockets: events go out through an Emitter
// and the result (history outputs and status messages) comes back to the
// caller, which owns the queue and history.
package engine

import (
	"github.com/comfygate/comfygate/comfy/comfyjson"
	"github.com/comfygate/comfygate/workflow"
)

// Job is one validated prompt to run.
type Job struct {
	PromptID string
	// Graph is the validated graph (workflow.Result.Graph).
	Graph workflow.Graph
	// Prompt is the same graph as ComfyUI shows it (hidden input PROMPT,
	// PNG metadata, current_inputs).
	Prompt comfyjson.Object
	// ExtraData is the queue item's extra_data.
	ExtraData any
	// Outputs are the output node ids to execute.
	Outputs []string
}

// clientID is extra_data["client_id"] as ComfyUI reads it: absent or null
// means "no client" (events broadcast or not sent); a string names a
// socket; anything else names no socket at all.
func (j *Job) clientID() *string {
	obj, ok := j.ExtraData.(comfyjson.Object)
	if !ok {
		return nil
	}
	v, ok := obj.Get("client_id")
	if !ok || v == nil {
		return nil
	}
	if s, isStr := v.(string); isStr {
		return &s
	}
	s := "\x00" + comfyjson.Repr(v) // matches no socket id
	return &s
}

func (j *Job) extraPNGInfo() any {
	obj, ok := j.ExtraData.(comfyjson.Object)
	if !ok {
		return nil
	}
	v, _ := obj.Get("extra_pnginfo")
	return v
}

// node is one node of a running prompt.
type node struct {
	id     string
	class  string
	def    *workflow.NodeClass
	inputs []input
	output bool // OUTPUT_NODE
}

type input struct {
	name  string
	link  bool
	from  string
	slot  outSlot
	value any
}

// prompt is a job's graph in ComfyUI's iteration order.
type prompt struct {
	order []string
	nodes map[string]*node
}

func newPrompt(g workflow.Graph, cat *workflow.Catalog) *prompt {
	p := &prompt{nodes: make(map[string]*node, len(g))}
	for _, id := range g.IDs() {
		n := g[id]
		nd := &node{id: id, class: n.ClassType}
		if def, ok := cat.Class(n.ClassType); ok {
			nd.def = def
			nd.output = def.OutputNode
		}
		for _, name := range n.InputNames() {
			v := n.Inputs[name]
			in := input{name: name, value: v}
			if from, slot, ok := asLink(v); ok {
				in.link, in.from, in.slot = true, from, slot
			}
			nd.inputs = append(nd.inputs, in)
		}
		p.order = append(p.order, id)
		p.nodes[id] = nd
	}
	return p
}

// lazy reports whether an input is declared lazy.
func (n *node) lazy(name string) bool {
	if n.def == nil {
		return false
	}
	in, ok := n.def.Input(name)
	return ok && in.Flag("lazy")
}

// has reports whether the prompt holds id.
func (p *prompt) has(id string) bool {
	_, ok := p.nodes[id]
	return ok
}
