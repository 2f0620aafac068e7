package engine

import "slices"

// executionList is comfy_execution.graph.ExecutionList: a topological
// dissolve of the part of the graph that is not cached, which picks the next
// node the way ComfyUI does. Python dicts keep insertion order, and that
// order decides which ready node runs first, so every map here is paired
// with an ordered key list.
type executionList struct {
	p        *prompt
	isCached func(id string) bool

	pending    []string            // pendingNodes keys, in insertion order
	blockCount map[string]int      // nodes this node waits for
	blocking   map[string][]string // nodes waiting for this node, in order
	staged     string
}

func newExecutionList(p *prompt, isCached func(string) bool) *executionList {
	return &executionList{
		p:          p,
		isCached:   isCached,
		blockCount: map[string]int{},
		blocking:   map[string][]string{},
	}
}

func (l *executionList) isPending(id string) bool {
	_, ok := l.blockCount[id]
	return ok
}

// addNode is TopologicalSort.add_node: a depth-first walk (with a stack) over
// the node's non-lazy links to uncached nodes.
func (l *executionList) addNode(id string) {
	type link struct{ from, to string }
	stack := []string{id}
	var links []link
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if l.isPending(cur) {
			continue
		}
		l.pending = append(l.pending, cur)
		l.blockCount[cur] = 0
		l.blocking[cur] = nil
		n := l.p.nodes[cur]
		if n == nil {
			continue
		}
		for _, in := range n.inputs {
			if !in.link || n.lazy(in.name) || l.isCached(in.from) || !l.p.has(in.from) {
				continue
			}
			stack = append(stack, in.from)
			links = append(links, link{in.from, cur})
		}
	}
	for _, k := range links {
		l.addStrongLink(k.from, k.to)
	}
}

// addStrongLink is TopologicalSort.add_strong_link.
func (l *executionList) addStrongLink(from, to string) {
	if l.isCached(from) {
		return
	}
	l.addNode(from)
	if !slices.Contains(l.blocking[from], to) {
		l.blocking[from] = append(l.blocking[from], to)
		l.blockCount[to]++
	}
}

func (l *executionList) empty() bool { return len(l.pending) == 0 }

func (l *executionList) ready() []string {
	var out []string
	for _, id := range l.pending {
		if l.blockCount[id] == 0 {
			out = append(out, id)
		}
	}
	return out
}

// stage picks the next node; ok is false when nodes remain but none is ready
// (a dependency cycle).
func (l *executionList) stage() (string, bool) {
	ready := l.ready()
	if len(ready) == 0 {
		return "", false
	}
	l.staged = l.pick(ready)
	return l.staged, true
}

// pick is ux_friendly_pick_node: an output node first, else a node feeding an
// output node, else one two steps from an output node, else the first.
func (l *executionList) pick(ready []string) string {
	isOutput := func(id string) bool {
		n := l.p.nodes[id]
		return n != nil && n.output
	}
	for _, id := range ready {
		if isOutput(id) {
			return id
		}
	}
	for _, id := range ready {
		if slices.ContainsFunc(l.blocking[id], isOutput) {
			return id
		}
	}
	for _, id := range ready {
		for _, b := range l.blocking[id] {
			if slices.ContainsFunc(l.blocking[b], isOutput) {
				return id
			}
		}
	}
	return ready[0]
}

// complete removes the staged node and unblocks its dependents.
func (l *executionList) complete() {
	id := l.staged
	l.staged = ""
	if i := slices.Index(l.pending, id); i >= 0 {
		l.pending = slices.Delete(l.pending, i, i+1)
	}
	for _, b := range l.blocking[id] {
		l.blockCount[b]--
	}
	delete(l.blocking, id)
	delete(l.blockCount, id)
}

// cycle returns the nodes left in a dependency cycle, for the error message.
func (l *executionList) cycle() []string {
	return slices.Clone(l.pending)
}
