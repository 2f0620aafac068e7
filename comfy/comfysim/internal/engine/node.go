package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/comfy/comfyjson"
	"github.com/comfygate/comfygate/comfy/comfysim/internal/nodes"
	"github.com/comfygate/comfygate/workflow"
)

// execute is execution.py's execute() for one staged node: a cached node
// only re-sends its UI output; any other node announces itself, runs and
// fills the caches. It returns nil on success.
func (r *run) execute(id string) (f *failure) {
	var inputs map[string]any
	defer r.recoverNode(id, &inputs, &f)
	e := r.e
	n := r.p.nodes[id]
	if _, ok := e.caches.output(id); ok {
		if r.client != nil {
			var out json.RawMessage
			if ui, ok := e.caches.uiOf(id); ok {
				out = comfyjson.MustDumps(ui.output)
			}
			r.sendToClient(comfy.Executed{Node: id, DisplayNode: id, Output: out, PromptID: r.job.PromptID})
		}
		e.cfg.Emitter.Event(r.progress.finish(id), r.client)
		return nil
	}
	if err := e.cfg.Knobs.Checkpoint(r.ctx); err != nil {
		return &failure{nodeID: id, err: err}
	}
	started := time.Now()
	e.cfg.Emitter.Event(r.progress.start(id), r.client)
	inputs, exc := r.gatherInputs(n)
	if exc != nil {
		return &failure{nodeID: id, err: exc, ownFrames: true}
	}
	if r.client != nil {
		nodeID := id
		e.setLastNode(&nodeID)
		r.sendToClient(comfy.Executing{Node: &nodeID, DisplayNode: &nodeID, PromptID: r.job.PromptID})
	}
	res, err := r.runNode(n, inputs)
	if err != nil {
		return &failure{nodeID: id, err: err, inputs: r.currentInputs(n, inputs)}
	}
	if len(res.UI) > 0 {
		meta := comfyjson.Object{{Key: "node_id", Value: id}, {Key: "display_node", Value: id},
			{Key: "parent_node", Value: nil}, {Key: "real_node_id", Value: id}}
		e.caches.setUI(id, uiEntry{meta: meta, output: res.UI})
		r.sendToClient(comfy.Executed{Node: id, DisplayNode: id, Output: comfyjson.MustDumps(res.UI), PromptID: r.job.PromptID})
	}
	if res.Outputs == nil {
		res.Outputs = []any{}
	}
	e.caches.setOutput(id, res.Outputs)
	if err := r.nodeDelay(n.class, started); err != nil {
		return &failure{nodeID: id, err: err}
	}
	e.cfg.Emitter.Event(r.progress.finish(id), r.client)
	r.executed = append(r.executed, id)
	return nil
}

// errCrashed ends the run of a node that crashed the simulated process.
var errCrashed = errors.New("comfysim: simulated crash")

// runNode checks for an interrupt (before_node_execution), an injected
// crash and an injected failure, then calls the node's implementation.
func (r *run) runNode(n *node, inputs map[string]any) (nodes.Result, error) {
	e := r.e
	if e.interrupted.Load() {
		return nodes.Result{}, nodes.ErrInterrupted
	}
	if cc := e.cfg.Knobs.CrashClass(); cc != "" && cc == n.class && e.cfg.Crash != nil {
		// The process dies here, as on a segfault: Crash ends r.ctx, and
		// the caller drops the prompt without a history entry.
		e.cfg.Crash(n.id, n.class)
		return nodes.Result{}, errCrashed
	}
	if h := e.testHook.Load(); h != nil {
		(*h)(n.class)
	}
	if fc := e.cfg.Knobs.FailClass(); fc != "" && fc == n.class {
		return nodes.Result{}, nodes.Raise("RuntimeError", "comfysim: injected failure in node %s (%s)", n.id, n.class)
	}
	def, ok := nodes.Lookup(n.class)
	if !ok {
		def = nodes.Unimplemented(n.class)
	}
	call := r.call(n, inputs)
	key := objKey{n.id, n.class}
	obj, ok := e.caches.objects[key]
	if !ok {
		obj = def.New(call)
		e.caches.objects[key] = obj
	}
	return obj.Run(call)
}

// nodeDelay pads a node to the configured minimum time. An interrupt ends
// the wait early; the next node start then reports it.
func (r *run) nodeDelay(class string, started time.Time) error {
	err := r.wait(started, func() time.Duration { return r.e.cfg.Knobs.NodeDelay(class) })
	if errors.Is(err, nodes.ErrInterrupted) {
		return nil
	}
	return err
}

// wait blocks until delay() has passed since started, re-reading delay()
// whenever the knobs change. It returns ErrInterrupted early on interrupt
// and the context's error at shutdown.
func (r *run) wait(started time.Time, delay func() time.Duration) error {
	for {
		changed := r.e.cfg.Knobs.Changed()
		d := delay() - time.Since(started)
		if d <= 0 {
			return nil
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
			return nil
		case <-changed:
			t.Stop()
		case <-r.ictx.Done():
			t.Stop()
			if err := r.ctx.Err(); err != nil {
				return err
			}
			return nodes.ErrInterrupted
		}
	}
}

// gatherInputs is get_input_data: constants of declared inputs and the
// upstream values of links, by input name. A link whose slot Python could
// not index raises here, before the node announces itself.
func (r *run) gatherInputs(n *node) (map[string]any, *nodes.Exception) {
	in := make(map[string]any, len(n.inputs))
	for _, i := range n.inputs {
		if i.link {
			v, exc := r.linkedValue(i)
			if exc != nil {
				return nil, exc
			}
			in[i.name] = v
			continue
		}
		if n.def != nil {
			if _, declared := n.def.Input(i.name); !declared {
				continue
			}
		}
		in[i.name] = i.value
	}
	return in, nil
}

// linkedValue reads output slot i.slot of node i.from: nil (None) when
// that node has no outputs or the slot is past the end, a value counted
// from the end for a negative slot, as Python indexes lists.
func (r *run) linkedValue(i input) (any, *nodes.Exception) {
	vals, ok := r.e.caches.output(i.from)
	if !ok {
		return nil, nil
	}
	at, missing, exc := i.slot.index(len(vals))
	if exc != nil {
		exc.Frames = inputFrames()
		return nil, exc
	}
	if missing {
		return nil, nil
	}
	return vals[at], nil
}

// currentInputs formats the inputs for execution_error: every value in a
// one-element list, objects as str(), hidden inputs of V1 nodes appended.
func (r *run) currentInputs(n *node, inputs map[string]any) comfyjson.Object {
	out := comfyjson.Object{}
	for _, i := range n.inputs {
		v, ok := inputs[i.name]
		if !ok {
			continue
		}
		out = append(out, comfyjson.Member{Key: i.name, Value: []any{formatValue(v)}})
	}
	if n.def == nil || n.def.V3 {
		return out
	}
	for _, h := range n.def.Section(workflow.SectionHidden) {
		var v any
		switch h.Type {
		case "PROMPT":
			v = comfyjson.Repr(r.job.Prompt)
		case "EXTRA_PNGINFO":
			if x := r.job.extraPNGInfo(); x != nil {
				v = comfyjson.Repr(x)
			}
		case "UNIQUE_ID":
			v = n.id
		default:
			continue
		}
		out = append(out, comfyjson.Member{Key: h.Name, Value: []any{v}})
	}
	return out
}

// formatValue is execution.py's format_value.
func formatValue(v any) any {
	switch x := v.(type) {
	case nil, string, bool, json.Number:
		return x
	case fmt.Stringer:
		return x.String()
	}
	return comfyjson.Repr(v)
}

func (r *run) call(n *node, inputs map[string]any) *nodes.Call {
	return &nodes.Call{
		Env:          &env{r: r, nodeID: n.id},
		NodeID:       n.id,
		Class:        n.class,
		Inputs:       inputs,
		Prompt:       r.job.Prompt,
		ExtraPNGInfo: r.job.extraPNGInfo(),
		Rand:         r.e.rng,
	}
}
