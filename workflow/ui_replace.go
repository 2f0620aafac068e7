package workflow

import "strings"

// pinReferences settles, at conversion, the %Node.widget% tokens of save
// nodes that only the editor can resolve, by writing in the widget's value
// from the workflow: a node named by a "Node name for S&R" other than its
// class (the API format does not keep that property), a node the API graph
// would find elsewhere, or an input that is linked there. The other tokens
// stay, for ExpandTextTokens to expand per job with the job's values and
// time, as the editor expands them each time it queues.
func (ug *uiGraph) pinReferences(g Graph, cat *Catalog) {
	ids := g.IDs()
	for _, id := range ids {
		n := g[id]
		prefix, ok := n.Inputs[prefixInput].(string)
		if !saveNodeTypes[n.ClassType] || !ok || !strings.Contains(prefix, "%") {
			continue
		}
		n.Inputs[prefixInput] = tokenPattern.ReplaceAllStringFunc(prefix, func(match string) string {
			node, widget, ok := strings.Cut(match[1:len(match)-1], ".")
			if !ok || strings.Contains(widget, ".") {
				return match // a date or no reference: left to ExpandTextTokens
			}
			src := ug.findNode(node, cat)
			if src == nil {
				return match
			}
			if apiID, ok := apiNodeFor(g, ids, node); ok && apiID == src.id {
				if _, ok := apiWidget(g, ids, node, widget); ok {
					return match // the job's own value, per job
				}
			}
			v, ok := ug.widgetValue(src, widget, cat)
			if !ok {
				return match
			}
			return unsafeInName.ReplaceAllString(jsString(v), "_")
		})
	}
}

// findNode is the editor's lookup: the first node (in the workflow's
// order) whose "Node name for S&R" is name, else the first titled name.
func (ug *uiGraph) findNode(name string, cat *Catalog) *uiNode {
	for _, id := range ug.ids {
		if n := ug.nodes[id]; n.srName == name {
			return n
		}
	}
	for _, id := range ug.ids {
		n := ug.nodes[id]
		title := n.title
		if cls, ok := cat.Class(n.typ); ok && title == "" {
			title = cls.Title()
		}
		if title == name {
			return n
		}
	}
	return nil
}

// widgetValue is the value of the named widget of n in the workflow.
func (ug *uiGraph) widgetValue(n *uiNode, widget string, cat *Catalog) (any, bool) {
	cls, ok := cat.Class(n.typ)
	if !ok {
		return nil, false
	}
	inputs, err := ug.widgetInputs(n, cls)
	if err != nil {
		return nil, false
	}
	v, ok := inputs[widget]
	return v, ok
}
