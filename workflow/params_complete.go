package workflow

import (
	"fmt"
	"slices"
)

// CompleteParams fills what hand-declared parameters leave out, so that a
// short spec ({target, type}) gets the same schema a detected parameter
// would: the default from the graph's current value of the input (or, for
// a linked or missing input, the catalog's default), and minimum, maximum,
// step, enum and description from the catalog's input spec (/object_info).
// What the spec says is kept. Image parameters get no enum: their values
// are uploads, not the backend's file list. A nil catalog fills defaults
// only. params is not modified.
func CompleteParams(g Graph, params []Param, cat *Catalog) []Param {
	out := slices.Clone(params)
	for i := range out {
		out[i] = completeParam(g, out[i], cat)
	}
	return out
}

func completeParam(g Graph, p Param, cat *Catalog) Param {
	n, ok := g[p.Target.NodeID]
	if !ok {
		return p
	}
	spec := inputSpecOf(cat, n.ClassType, p.Target.Input)
	if p.Default == nil {
		if v, ok := n.Inputs[p.Target.Input]; ok && !isLinkValue(v) {
			p.Default = v
		} else if spec != nil {
			p.Default, _ = spec.Default()
		}
	}
	if spec == nil {
		return p
	}
	fill := func(have *string, key string) {
		if *have == "" {
			n, _ := spec.Number(key)
			*have = string(n)
		}
	}
	if p.Type == TypeInteger || p.Type == TypeNumber {
		fill((*string)(&p.Minimum), "min")
		fill((*string)(&p.Maximum), "max")
		fill((*string)(&p.Step), "step")
	}
	if len(p.Enum) == 0 && spec.Type == "COMBO" && p.Type != TypeImage && len(spec.Values) > 0 {
		p.Enum = slices.Clone(spec.Values)
	}
	if p.Description == "" {
		p.Description = spec.Tooltip()
	}
	if p.Description == "" {
		p.Description = fmt.Sprintf("%s.%s of node %s.", n.ClassType, p.Target.Input, p.Target.NodeID)
	}
	return p
}

// inputSpecOf returns the catalog's spec of class.input, or nil.
func inputSpecOf(cat *Catalog, class, input string) *InputSpec {
	cls, ok := cat.Class(class)
	if !ok {
		return nil
	}
	spec, _ := cls.Input(input)
	return spec
}
