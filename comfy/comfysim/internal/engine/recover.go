package engine

import (
	"fmt"
	"runtime"
	"slices"
	"strings"

	"github.com/comfygate/comfygate/comfy/comfyjson"
	"github.com/comfygate/comfygate/comfy/comfysim/internal/nodes"
)

// A bug in the simulator (a Go panic while running a prompt) must not take
// the process down: a real ComfyUI turns an unexpected exception in a node
// into execution_error and a failed history entry, and keeps serving. The
// functions here do the same for panics, reporting a RuntimeError whose
// traceback is the Go stack written as Python frames.

// maxPanicFrames bounds the traceback of a recovered panic.
const maxPanicFrames = 24

// panicException describes a recovered panic value. It must be called from
// the deferred function that recovered, while the panicking stack is still
// there to read.
func panicException(v any, nodeID, class string) *nodes.Exception {
	where := ""
	if nodeID != "" {
		where = fmt.Sprintf(" in node %s (%s)", nodeID, class)
	}
	return &nodes.Exception{
		Type:    "RuntimeError",
		Message: fmt.Sprintf("comfysim: internal error%s: %v", where, v),
		Frames:  goFrames(),
	}
}

// goFrames formats the current goroutine's stack from the function that
// panicked down to the goroutine's start, oldest call first as Python
// prints it. The recovering defer and the runtime's panic machinery above
// the panicking function are left out.
func goFrames() []string {
	pcs := make([]uintptr, 64)
	n := runtime.Callers(0, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	var all []runtime.Frame
	for {
		f, more := frames.Next()
		all = append(all, f)
		if !more {
			break
		}
	}
	start := slices.IndexFunc(all, func(f runtime.Frame) bool { return f.Function == "runtime.gopanic" })
	for start >= 0 && start < len(all) && strings.HasPrefix(all[start].Function, "runtime.") {
		start++
	}
	var out []string
	for _, f := range all[max(start, 0):] {
		if strings.HasPrefix(f.Function, "runtime.") || len(out) == maxPanicFrames {
			break
		}
		out = append(out, goFrame(f))
	}
	slices.Reverse(out)
	return out
}

func goFrame(f runtime.Frame) string {
	file := f.File
	if at := strings.LastIndex(file, "/comfy/comfysim/"); at >= 0 {
		file = "<COMFYSIM>" + file[at+len("/comfy/comfysim"):]
	}
	fn := f.Function
	if at := strings.LastIndexByte(fn, '/'); at >= 0 {
		fn = fn[at+1:]
	}
	return fmt.Sprintf("  File \"%s\", line %d, in %s\n", file, f.Line, fn)
}

// recoverNode is deferred by execute: a panic while node id runs becomes
// that node's failure, with the inputs gathered so far.
func (r *run) recoverNode(id string, inputs *map[string]any, f **failure) {
	v := recover()
	if v == nil {
		return
	}
	class := ""
	n := r.p.nodes[id]
	if n != nil {
		class = n.class
	}
	*f = &failure{nodeID: id, err: panicException(v, id, class), ownFrames: true}
	if n != nil && *inputs != nil {
		(*f).inputs = r.safeCurrentInputs(n, *inputs)
	}
}

// safeCurrentInputs is currentInputs, or none when formatting them panics
// too.
func (r *run) safeCurrentInputs(n *node, inputs map[string]any) (out comfyjson.Object) {
	defer func() {
		if recover() != nil {
			out = nil
		}
	}()
	return r.currentInputs(n, inputs)
}

// recoverRun is deferred by Execute: a panic outside a node's own run (in
// ordering, caching or reporting) ends the prompt with an execution_error
// blamed on the node being staged, and a failed result.
func (r *run) recoverRun(res *Result) {
	v := recover()
	if v == nil {
		return
	}
	class := ""
	if r.p != nil && r.p.nodes[r.staged] != nil {
		class = r.p.nodes[r.staged].class
	}
	r.reportPanic(&failure{nodeID: r.staged, err: panicException(v, r.staged, class), ownFrames: true})
	*res = Result{Messages: r.messages, Outputs: comfyjson.Object{}, Meta: comfyjson.Object{}, Executed: len(r.executed)}
	if out, meta, ok := r.safeHistoryOutputs(); ok {
		res.Outputs, res.Meta = out, meta
	}
}

// reportPanic records the execution_error of f. Should that panic too
// (while sending it), the message is already in the history or lost; the
// run still ends as failed.
func (r *run) reportPanic(f *failure) {
	defer func() { _ = recover() }()
	r.handleError(f)
}

func (r *run) safeHistoryOutputs() (out, meta comfyjson.Object, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	out, meta = r.historyOutputs()
	return out, meta, true
}
