package workflow

import "strings"

// A node marks its inputs as parameters with its title (_meta.title, what
// the editor shows and lets a user rename):
//
//	"$name"         every widget input of the node is a parameter: "name"
//	                when it has one, else "name_<input>"
//	"$name.input"   only that input, as "name"
//
// A node renamed in the editor (a title that differs from its class's
// display name in the node catalog) that the built-in rules do not know
// exposes its widget inputs the same way, named after the title; without
// the catalog a rename cannot be told from a default title, so only marked
// nodes count. So a graph without a checkpoint or a sampler (an image
// utility, a test rig) gets parameters by naming nodes, in the editor or in
// the API-format JSON; comfy-pack's input nodes, named by their titles, are
// picked up by the same rule.

// markPrefix starts a title that marks a node's inputs as parameters.
const markPrefix = "$"

// markOf reads a "$name" or "$name.input" title.
func markOf(title string) (name, input string, ok bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(title), markPrefix)
	if !ok || rest == "" {
		return "", "", false
	}
	name, input, _ = strings.Cut(rest, ".")
	return Slug(name), strings.TrimSpace(input), true
}

// widgets exposes the constant widget inputs of node id as parameters
// named after name (see above); only, when set, limits them to one input.
func (d *detector) widgets(id, name, only string) {
	inputs := d.widgetInputs(id)
	switch {
	case only != "":
		for _, in := range inputs {
			if in == only {
				d.add(name, Target{id, in}, "", rankWidget)
			}
		}
	case len(inputs) == 1:
		d.add(name, Target{id, inputs[0]}, "", rankWidget)
	default:
		for _, in := range inputs {
			d.add(name+"_"+in, Target{id, in}, "", rankWidget)
		}
	}
}

// widgetInputs lists the inputs of node id that hold a constant value a
// caller could set: widget inputs in the catalog's order when the class is
// known, else every input holding a string, number or boolean.
func (d *detector) widgetInputs(id string) []string {
	n := d.g[id]
	var out []string
	if cls, ok := d.cat.Class(n.ClassType); ok {
		for _, spec := range cls.Inputs {
			if v, ok := n.Inputs[spec.Name]; ok && spec.IsWidget() && !isLinkValue(v) {
				out = append(out, spec.Name)
			}
		}
		return out
	}
	for _, in := range n.InputNames() {
		if typeOfValue(n.Inputs[in]) != "" {
			out = append(out, in)
		}
	}
	return out
}
