package workflow

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/comfygate/comfygate/comfy/comfyjson"
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

	pyType  any  // input_type as validation sees it: a string or a list
	typeRaw any  // first element as received
	optRaw  any  // options as received, when hasOpt
	hasOpt  bool // the spec has a second element
}

func parseClass(name string, def any) (*NodeClass, error) {
	v, ok := def.(comfyjson.Object)
	if !ok {
		return nil, fmt.Errorf("definition must be an object, got %s", kindName(def))
	}
	nc := &NodeClass{Name: name, Raw: rawJSON(v)}
	nc.readScalars(v)
	in, _ := v.Get("input")
	order, _ := v.Get("input_order")
	if in, ok := in.(comfyjson.Object); ok {
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

func (nc *NodeClass) readScalars(v comfyjson.Object) {
	str := func(key string) string {
		e, _ := v.Get(key)
		s, _ := e.(string)
		return s
	}
	flag := func(key string) bool {
		e, _ := v.Get(key)
		b, _ := e.(bool)
		return b
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
func looksV3(v comfyjson.Object) bool {
	keys := v.Keys()
	tips, name := slices.Index(keys, "output_tooltips"), slices.Index(keys, "name")
	if tips >= 0 && name >= 0 && tips < name {
		return true
	}
	for _, k := range []string{"deprecated", "experimental", "api_node"} {
		if !slices.Contains(keys, k) {
			return false
		}
	}
	return true
}

func parseSection(section string, in comfyjson.Object, order any) ([]*InputSpec, error) {
	v, _ := in.Get(section)
	sec, ok := v.(comfyjson.Object)
	if !ok {
		return nil, nil
	}
	names := sec.Keys()
	o, _ := member(order, section)
	if listed, ok := sameNames(o, sec); ok {
		names = listed
	}
	out := make([]*InputSpec, 0, len(names))
	for _, name := range names {
		raw, _ := sec.Get(name)
		out = append(out, parseInput(name, section, raw))
	}
	return out, nil
}

// sameNames returns input_order's list of a section when it lists exactly
// the section's inputs.
func sameNames(order any, sec comfyjson.Object) ([]string, bool) {
	list, ok := order.([]any)
	if !ok || len(list) != len(sec) {
		return nil, false
	}
	names := make([]string, len(list))
	for i, e := range list {
		s, ok := e.(string)
		if !ok || !sec.Has(s) {
			return nil, false
		}
		names[i] = s
	}
	return names, true
}

// parseInput reads a spec: [type, options?], where type is a name or a value
// list; hidden inputs may be a bare name. Odd specs from custom nodes are
// kept as they come rather than rejected.
func parseInput(name, section string, v any) *InputSpec {
	in := &InputSpec{Name: name, Section: section, Options: map[string]any{}}
	first := v
	if list, ok := v.([]any); ok {
		first = nil
		if len(list) > 0 {
			first = list[0]
		}
		if len(list) > 1 {
			in.optRaw, in.hasOpt = list[1], true
			if opts, ok := comfyjson.Plain(list[1]).(map[string]any); ok {
				in.Options = opts
			}
		}
	}
	in.typeRaw = first
	in.pyType = comfyjson.Plain(first)
	switch x := first.(type) {
	case string:
		in.Type = x
		if in.Type == "COMBO" {
			in.Values, _ = in.Options["options"].([]any)
		}
	case []any:
		in.Type, in.Classic = "COMBO", true
		in.Values, _ = in.pyType.([]any)
	default:
		in.Type = comfyjson.Str(first)
	}
	return in
}

func parseOutputs(v comfyjson.Object) []OutputSpec {
	t, _ := v.Get("output")
	types, ok := t.([]any)
	if !ok {
		return nil
	}
	names, _ := v.Get("output_name")
	lists, _ := v.Get("output_is_list")
	tips, _ := v.Get("output_tooltips")
	out := make([]OutputSpec, len(types))
	for i, t := range types {
		o := OutputSpec{pyType: comfyjson.Plain(t), Type: comfyjson.Str(t)}
		if _, ok := t.([]any); ok {
			o.Type = "COMBO"
		}
		o.Name, _ = index(names, i).(string)
		o.IsList, _ = index(lists, i).(bool)
		o.Tooltip, _ = index(tips, i).(string)
		out[i] = o
	}
	return out
}

// index is v[i] when v is a list that long, else nil.
func index(v any, i int) any {
	list, _ := v.([]any)
	if i >= len(list) {
		return nil
	}
	return list[i]
}

// config is the input_config ComfyUI reports in errors: [type, options],
// with {} for a spec without options.
func (in *InputSpec) config() json.RawMessage {
	var opts any = comfyjson.Object{}
	if in.hasOpt {
		opts = in.optRaw
	}
	return rawJSON([]any{in.typeRaw, opts})
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
