package workflow

import "github.com/comfygate/comfygate/comfy/comfyjson"

// toAPI builds the API graph from the parsed editor workflow.
func (ug *uiGraph) toAPI(cat *Catalog) (Graph, error) {
	g := Graph{}
	pos := 0
	for _, id := range ug.sortedIDs() {
		n := ug.nodes[id]
		if virtualTypes[n.typ] || n.mode == modeMuted || n.mode == modeBypass {
			continue
		}
		cls, ok := cat.Class(n.typ)
		if !ok {
			return nil, &UIError{NodeID: id, Problem: "unknown node type " + n.typ}
		}
		inputs, err := ug.widgetInputs(n, cls)
		if err != nil {
			return nil, err
		}
		ug.linkInputs(n, inputs)
		title := n.title
		if title == "" {
			title = cls.Title()
		}
		pos++
		g[id] = &Node{ClassType: n.typ, Inputs: inputs, Meta: map[string]any{"title": title}, pos: pos,
			keys: []string{"inputs", "class_type", "_meta"}, inputKeys: inputOrder(n, cls)}
	}
	dropDanglingLinks(g)
	ug.pinReferences(g, cat)
	return g, nil
}

// widgetInputs maps widgets_values to input names: every widget input in
// input order takes the next value; inputs with control_after_generate or
// an upload button use one more value, which is not sent.
func (ug *uiGraph) widgetInputs(n *uiNode, cls *NodeClass) (map[string]any, error) {
	inputs := map[string]any{}
	if n.widgets == nil {
		return inputs, nil
	}
	if named, ok := n.widgets.(comfyjson.Object); ok {
		for _, m := range named {
			if spec, ok := cls.Input(m.Key); ok && spec.IsWidget() {
				inputs[m.Key] = wrapList(comfyjson.Plain(m.Value))
			}
		}
		return inputs, nil
	}
	vals := n.widgets.([]any)
	i := 0
	for _, spec := range cls.Inputs {
		if !spec.IsWidget() {
			continue
		}
		if i >= len(vals) {
			break
		}
		inputs[spec.Name] = wrapList(comfyjson.Plain(vals[i]))
		i++
		if spec.Flag("control_after_generate") || spec.Flag("image_upload") ||
			spec.Flag("video_upload") || spec.Flag("audio_upload") {
			i++
		}
	}
	return inputs, nil
}

// inputOrder is the frontend's key order: widgets, then connection slots.
func inputOrder(n *uiNode, cls *NodeClass) []string {
	var keys []string
	for _, spec := range cls.Inputs {
		if spec.IsWidget() {
			keys = append(keys, spec.Name)
		}
	}
	for _, s := range n.inputs {
		if s.widget == "" && s.name != "" {
			keys = append(keys, s.name)
		}
	}
	return keys
}

// wrapList wraps list values as {"__value__": [...]}, since a bare list
// would read as a link.
func wrapList(v any) any {
	if l, ok := v.([]any); ok {
		return map[string]any{"__value__": l}
	}
	return v
}

// linkInputs sets each connected input slot to its resolved source: a link,
// or the value of a PrimitiveNode.
func (ug *uiGraph) linkInputs(n *uiNode, inputs map[string]any) {
	for _, slot := range n.inputs {
		if slot.link == "" {
			continue
		}
		name := slot.name
		if slot.widget != "" {
			name = slot.widget
		}
		if v, ok := ug.resolve(slot.link, 0); ok {
			inputs[name] = v
		} else if slot.widget == "" {
			delete(inputs, name)
		}
	}
}

// resolve follows a link through reroutes and bypassed nodes to a real
// output, or to a primitive's value.
func (ug *uiGraph) resolve(linkID string, depth int) (any, bool) {
	l, ok := ug.links[linkID]
	if !ok || depth > 64 {
		return nil, false
	}
	src, ok := ug.nodes[l.origin]
	if !ok {
		return nil, false
	}
	switch {
	case src.typ == "Reroute":
		if len(src.inputs) == 0 || src.inputs[0].link == "" {
			return nil, false
		}
		return ug.resolve(src.inputs[0].link, depth+1)
	case src.typ == "PrimitiveNode":
		vals, _ := src.widgets.([]any)
		if len(vals) == 0 {
			return nil, false
		}
		return wrapList(comfyjson.Plain(vals[0])), true
	case src.mode == modeBypass:
		in, ok := src.bypassInput(l.originSlot)
		if !ok {
			return nil, false
		}
		return ug.resolve(in, depth+1)
	case src.mode == modeMuted || virtualTypes[src.typ]:
		return nil, false
	}
	return Link(src.id, l.originSlot), true
}

// bypassInput picks the input a bypassed node hands through to output slot:
// the input at the same index if its type matches, else the first connected
// input of that type.
func (n *uiNode) bypassInput(slot int) (string, bool) {
	if slot < 0 || slot >= len(n.outputs) {
		return "", false
	}
	typ := n.outputs[slot].typ
	if slot < len(n.inputs) && n.inputs[slot].typ == typ && n.inputs[slot].link != "" {
		return n.inputs[slot].link, true
	}
	for _, in := range n.inputs {
		if in.typ == typ && in.link != "" {
			return in.link, true
		}
	}
	return "", false
}

// dropDanglingLinks removes link inputs whose source is not in the graph.
func dropDanglingLinks(g Graph) {
	for _, n := range g {
		for name, v := range n.Inputs {
			if id, _, ok := AsLink(v); ok {
				if _, exists := g[id]; !exists {
					delete(n.Inputs, name)
				}
			}
		}
	}
}
