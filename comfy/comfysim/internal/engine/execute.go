package engine

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/comfy/comfyjson"
	"github.com/comfygate/comfygate/comfy/comfysim/internal/nodes"
)

// Execute runs job to the end (success, error or interrupt) and returns what
// its history entry needs. The final status broadcast and "executing null"
// are the caller's, because they follow the history write.
func (e *Executor) Execute(ctx context.Context, job *Job) (res Result) {
	ictx, cancel := context.WithCancel(ctx)
	defer cancel()
	e.mu.Lock()
	e.interrupted.Store(false)
	e.interrupt = cancel
	e.mu.Unlock()
	defer e.endRun()
	r := &run{e: e, ctx: ctx, ictx: ictx, job: job, client: job.clientID(), progress: newProgressRegistry(job.PromptID)}
	defer r.recoverRun(&res)
	e.setState(r.client, nil)
	r.addMessage(comfy.ExecutionStart{PromptID: job.PromptID, Timestamp: e.now()}, false)

	r.p = newPrompt(job.Graph, e.cfg.Catalog)
	e.caches.setPrompt(r.p, r.isChanged)
	cached := []string{}
	for _, id := range r.p.order {
		if _, ok := e.caches.output(id); ok {
			cached = append(cached, id)
		}
	}
	r.addMessage(comfy.ExecutionCached{Nodes: cached, PromptID: job.PromptID, Timestamp: e.now()}, false)
	r.current = append([]string{}, r.p.order...)

	res = Result{Success: true}
	list := newExecutionList(r.p, func(id string) bool { _, ok := e.caches.output(id); return ok })
	for _, id := range job.Outputs {
		if r.p.has(id) {
			list.addNode(id)
		}
	}
	for !list.empty() {
		id, ok := list.stage()
		r.staged = id
		if !ok {
			r.cycleError(list.cycle())
			res.Success = false
			break
		}
		fail := r.execute(id)
		if fail != nil {
			res.Success = false
			res.Interrupted = errors.Is(fail.err, nodes.ErrInterrupted)
			r.handleError(fail)
			break
		}
		list.complete()
	}
	if res.Success {
		r.addMessage(comfy.ExecutionSuccess{PromptID: job.PromptID, Timestamp: e.now()}, false)
	}
	res.Outputs, res.Meta = r.historyOutputs()
	res.Messages = r.messages
	res.Executed = len(r.executed)
	return res
}

// endRun forgets the finished run's resync node and interrupt hook.
func (e *Executor) endRun() {
	e.mu.Lock()
	e.lastNode, e.interrupt = nil, nil
	e.mu.Unlock()
}

// isChanged is the IS_CHANGED part of a cache key.
func (r *run) isChanged(n *node) string {
	def, ok := nodes.Lookup(n.class)
	if !ok || def.IsChanged == nil {
		return "False"
	}
	call := r.call(n, r.constInputs(n))
	if key, ok := def.IsChanged(call); ok {
		return strconv.Quote(key)
	}
	return "NaN#" + strconv.FormatUint(r.e.changed.Add(1), 10)
}

// constInputs are a node's constant inputs (links left out), as
// IsChangedCache hands them to IS_CHANGED.
func (r *run) constInputs(n *node) map[string]any {
	in := map[string]any{}
	for _, i := range n.inputs {
		if !i.link {
			in[i.name] = i.value
		}
	}
	return in
}

// historyOutputs collects the ui cache of every node of the prompt.
func (r *run) historyOutputs() (comfyjson.Object, comfyjson.Object) {
	outputs, meta := comfyjson.Object{}, comfyjson.Object{}
	for _, id := range r.p.order {
		if e, ok := r.e.caches.uiOf(id); ok {
			outputs = append(outputs, comfyjson.Member{Key: id, Value: e.output})
			meta = append(meta, comfyjson.Member{Key: id, Value: e.meta})
		}
	}
	return outputs, meta
}

// failure is a node that did not complete.
type failure struct {
	nodeID string
	err    error
	inputs comfyjson.Object // current_inputs; nil when never gathered
	// ownFrames: the exception's Frames are its whole traceback, because it
	// was raised outside the node's own call.
	ownFrames bool
}

func (r *run) handleError(f *failure) {
	classType := ""
	if r.p != nil && r.p.nodes[f.nodeID] != nil {
		classType = r.p.nodes[f.nodeID].class
	}
	executed := append([]string{}, r.executed...)
	if errors.Is(f.err, nodes.ErrInterrupted) {
		r.addMessage(comfy.ExecutionInterrupted{
			PromptID: r.job.PromptID, NodeID: f.nodeID, NodeType: classType,
			Executed: executed, Timestamp: r.e.now(),
		}, true)
		return
	}
	exc := asException(f.err)
	inputs := f.inputs
	if inputs == nil {
		inputs = comfyjson.Object{}
	}
	r.addMessage(comfy.ExecutionError{
		PromptID: r.job.PromptID, NodeID: f.nodeID, NodeType: classType, Executed: executed,
		ExceptionMessage: exc.Message + "\n", ExceptionType: exc.Type,
		Traceback: f.traceback(exc), CurrentInputs: comfyjson.MustDumps(inputs),
		CurrentOutputs: r.current, Timestamp: r.e.now(),
	}, false)
}

// cycleError reports a dependency cycle found while running, as ComfyUI's
// stage_node_execution does (empty traceback, [] inputs).
func (r *run) cycleError(ids []string) {
	blamed := ""
	if len(ids) > 0 {
		blamed = ids[0]
	}
	classType := ""
	if n := r.p.nodes[blamed]; n != nil {
		classType = n.class
	}
	r.addMessage(comfy.ExecutionError{
		PromptID: r.job.PromptID, NodeID: blamed, NodeType: classType,
		Executed:         append([]string{}, r.executed...),
		ExceptionMessage: "Dependency cycle detected", ExceptionType: "graph.DependencyCycleError",
		Traceback: []string{}, CurrentInputs: []byte("[]"), CurrentOutputs: r.current,
		Timestamp: r.e.now(),
	}, false)
}

func asException(err error) *nodes.Exception {
	var exc *nodes.Exception
	if errors.As(err, &exc) {
		return exc
	}
	if errors.Is(err, context.Canceled) {
		return &nodes.Exception{Type: "KeyboardInterrupt", Message: "simulator shutting down"}
	}
	return &nodes.Exception{Type: "RuntimeError", Message: err.Error()}
}

func (f *failure) traceback(exc *nodes.Exception) []string {
	if f.ownFrames {
		return append([]string{}, exc.Frames...)
	}
	return traceback(exc)
}

// traceback is what ComfyUI's executor shows above a node's own frames
// (Python 3.11 format, ComfyUI's tree as <COMFYUI_DIR>).
func traceback(exc *nodes.Exception) []string {
	const root = "<COMFYUI_DIR>/execution.py"
	call := "output_data, output_ui, has_subgraph, has_pending_tasks = await get_output_data(prompt_id, unique_id, obj, input_data_all, execution_block_cb=execution_block_cb, pre_execute_cb=pre_execute_cb, hidden_inputs=hidden_inputs)"
	mapCall := "return_values = await _async_map_node_over_list(prompt_id, unique_id, obj, input_data_all, obj.FUNCTION, allow_interrupt=True, execution_block_cb=execution_block_cb, pre_execute_cb=pre_execute_cb, hidden_inputs=hidden_inputs)"
	tb := []string{
		nodes.Frame(root, 496, "execute", call, call[strings.Index(call, "await "):]),
		nodes.Frame(root, 315, "get_output_data", mapCall, mapCall[strings.Index(mapCall, "await "):]),
		nodes.Frame(root, 289, "_async_map_node_over_list", "await process_inputs(input_dict, i)", ""),
		nodes.Frame(root, 277, "process_inputs", "result = f(**inputs)", "f(**inputs)"),
	}
	if len(exc.Frames) == 0 {
		return append(tb, nodes.Frame("<COMFYUI_DIR>/comfysim.py", 1, "run", "raise "+exc.Type+"(message)", ""))
	}
	return append(tb, exc.Frames...)
}
