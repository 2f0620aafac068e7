package workflow

import (
	"encoding/json"
	"fmt"
	"slices"
)

// InputSpec is one declared input of a node class.
type InputSpec struct {
	Name    string
	Section string // SectionRequired, SectionOptional or SectionHidden
	// Type is the type name ("INT", "IMAGE,MASK", "*", hidden "PROMPT"), or
	// "COMBO" for both classic combos (a value list as the type) and V3
	// combos ("COMBO" with an "options" list).
	Type string
	// Values are the allowed values of a combo: the classic list, or the V3
	// "options".
	Values []any
	// Classic is true when the type itself is the list of values. Only such
	// combos are checked by ComfyUI 0.3.64's validation.
	Classic bool
	// Options is the spec's options object ({"default": 20, "min": 1, ...}),
	// numbers as json.Number; empty when the spec has none.
	Options map[string]any

	pyType  any   // input_type as validation sees it: a string or a list
	typeRaw *jval // first element as received
	optRaw  *jval // options as received, nil when absent
}

func parseClass(name string, v *jval) (*NodeClass, error) {
	if v.kind != jObj {
		return nil, fmt.Errorf("definition must be an object, got %s", kindName(v))
	}
	nc := &NodeClass{Name: name, Raw: v.raw()}
	nc.readScalars(v)
	in, _ := v.get("input")
	order, _ := v.get("input_order")
	if in != nil && in.kind == jObj {
		for _, section := range []string{SectionRequired, SectionOptional, SectionHidden} {
			specs, err := parseSection(section, in, order)
			if err != nil {
				return nil, err
			}
			nc.Inputs = append(nc.Inputs, specs...)
		}
	}
	nc.Outputs = parseOutputs(v)
	nc.V3 = looksV3(v)
	return nc, nil
}

func (nc *NodeClass) readScalars(v *jval) {
	str := func(key string) string {
		if e, ok := v.get(key); ok && e.kind == jStr {
			return e.s
		}
		return ""
	}
	flag := func(key string) bool {
		e, ok := v.get(key)
		return ok && e.kind == jBool && e.b
	}
	nc.DisplayName = str("display_name")
	nc.Description = str("description")
	nc.Category = str("category")
	nc.PythonModule = str("python_module")
	nc.OutputNode = flag("output_node")
	nc.Deprecated = flag("deprecated")
	nc.Experimental = flag("experimental")
}

// looksV3 recognises definitions produced by the V3 node API: they list
// output_tooltips right after output_name, and always carry deprecated,
// experimental and api_node.
func looksV3(v *jval) bool {
	tips, name := slices.Index(v.keys, "output_tooltips"), slices.Index(v.keys, "name")
	if tips >= 0 && name >= 0 && tips < name {
		return true
	}
	for _, k := range []string{"deprecated", "experimental", "api_node"} {
		if !slices.Contains(v.keys, k) {
			return false
		}
	}
	return true
}

func parseSection(section string, in, order *jval) ([]*InputSpec, error) {
	sec, ok := in.get(section)
	if !ok || sec.kind != jObj {
		return nil, nil
	}
	names := sec.keys
	if order != nil && order.kind == jObj {
		if o, ok := order.get(section); ok && o.kind == jArr && sameNames(o, sec) {
			names = nil
			for _, e := range o.arr {
				names = append(names, e.s)
			}
		}
	}
	out := make([]*InputSpec, 0, len(names))
	for _, name := range names {
		raw, _ := sec.get(name)
		out = append(out, parseInput(name, section, raw))
	}
	return out, nil
}

// sameNames reports whether input_order lists exactly the section's inputs.
func sameNames(order, sec *jval) bool {
	if len(order.arr) != len(sec.keys) {
		return false
	}
	for _, e := range order.arr {
		if e.kind != jStr {
			return false
		}
		if _, ok := sec.get(e.s); !ok {
			return false
		}
	}
	return true
}

// parseInput reads a spec: [type, options?], where type is a name or a value
// list; hidden inputs may be a bare name. Odd specs from custom nodes are
// kept as they come rather than rejected.
func parseInput(name, section string, v *jval) *InputSpec {
	in := &InputSpec{Name: name, Section: section, Options: map[string]any{}}
	first := v
	if v.kind == jArr {
		if len(v.arr) == 0 {
			first = &jval{kind: jNull}
		} else {
			first = v.arr[0]
		}
		if len(v.arr) > 1 {
			in.optRaw = v.arr[1]
			if opts, ok := v.arr[1].toAny().(map[string]any); ok {
				in.Options = opts
			}
		}
	}
	in.typeRaw = first
	in.pyType = first.toAny()
	switch first.kind {
	case jStr:
		in.Type = first.s
		if in.Type == "COMBO" {
			in.Values, _ = in.Options["options"].([]any)
		}
	case jArr:
		in.Type, in.Classic = "COMBO", true
		in.Values, _ = in.pyType.([]any)
	default:
		in.Type = first.pyStr()
	}
	return in
}

func parseOutputs(v *jval) []OutputSpec {
	types, _ := v.get("output")
	if types == nil || types.kind != jArr {
		return nil
	}
	names, _ := v.get("output_name")
	lists, _ := v.get("output_is_list")
	tips, _ := v.get("output_tooltips")
	out := make([]OutputSpec, len(types.arr))
	for i, t := range types.arr {
		o := OutputSpec{pyType: t.toAny(), Type: t.pyStr()}
		if t.kind == jArr {
			o.Type = "COMBO"
		}
		if e := index(names, i); e != nil && e.kind == jStr {
			o.Name = e.s
		}
		if e := index(lists, i); e != nil && e.kind == jBool {
			o.IsList = e.b
		}
		if e := index(tips, i); e != nil && e.kind == jStr {
			o.Tooltip = e.s
		}
		out[i] = o
	}
	return out
}

func index(v *jval, i int) *jval {
	if v == nil || v.kind != jArr || i >= len(v.arr) {
		return nil
	}
	return v.arr[i]
}

// config is the input_config ComfyUI reports in errors: [type, options],
// with {} for a spec without options.
func (in *InputSpec) config() json.RawMessage {
	opts := in.optRaw
	if opts == nil {
		opts = &jval{kind: jObj}
	}
	return (&jval{kind: jArr, arr: []*jval{in.typeRaw, opts}}).raw()
}

// Default returns the "default" option.
func (in *InputSpec) Default() (any, bool) {
	v, ok := in.Options["default"]
	return v, ok
}

// Number returns a numeric option ("min", "max", "step", "round") exactly.
func (in *InputSpec) Number(key string) (json.Number, bool) {
	n, ok := in.Options[key].(json.Number)
	return n, ok
}

// Flag returns a boolean option ("multiline", "forceInput", "image_upload",
// "control_after_generate", "lazy", ...).
func (in *InputSpec) Flag(key string) bool {
	b, _ := in.Options[key].(bool)
	return b
}

// Tooltip returns the "tooltip" option.
func (in *InputSpec) Tooltip() string {
	s, _ := in.Options["tooltip"].(string)
	return s
}

// IsWidget reports whether the editor shows the input as a widget (a value
// typed in on the node) rather than only as a connection slot.
func (in *InputSpec) IsWidget() bool {
	if in.Section == SectionHidden || in.Flag("forceInput") {
		return false
	}
	switch in.Type {
	case "INT", "FLOAT", "STRING", "BOOLEAN", "COMBO":
		return true
	}
	return false
}
