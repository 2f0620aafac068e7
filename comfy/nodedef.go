package comfy

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/comfygate/comfygate/comfy/comfyjson"
)

// NodeDef is one node definition from GET /object_info. Fields not listed here
// (newer or custom-node keys) are kept in Extra so a definition can be served
// on unchanged. Input specs stay raw: their first element is either a type
// name or, for classic combos, the list of allowed values.
type NodeDef struct {
	Input          NodeInputs `json:"input"`
	InputOrder     InputOrder `json:"input_order,omitzero"`
	Output         []string   `json:"output"`
	OutputIsList   []bool     `json:"output_is_list"`
	OutputName     []string   `json:"output_name"`
	OutputTooltips []*string  `json:"output_tooltips,omitzero"`
	Name           string     `json:"name"`
	// DisplayName is null for some V3 nodes; see Title.
	DisplayName  *string `json:"display_name"`
	Description  string  `json:"description"`
	PythonModule string  `json:"python_module"`
	Category     string  `json:"category"`
	OutputNode   bool    `json:"output_node"`
	// Deprecated, Experimental and APINode are sent by V1 nodes only when true
	// and by V3 nodes always; pointers keep that difference.
	Deprecated   *bool `json:"deprecated,omitempty"`
	Experimental *bool `json:"experimental,omitempty"`
	APINode      *bool `json:"api_node,omitempty"`
	// Extra holds every other key.
	Extra map[string]json.RawMessage `json:"-"`
}

// Title returns the display name, or the class name when there is none.
func (d NodeDef) Title() string {
	if d.DisplayName != nil && *d.DisplayName != "" {
		return *d.DisplayName
	}
	return d.Name
}

// UnmarshalJSON decodes the known fields and keeps the rest in Extra.
func (d *NodeDef) UnmarshalJSON(data []byte) error {
	type plain NodeDef
	var p plain
	if err := unmarshalWithExtra(data, &p, &p.Extra); err != nil {
		return err
	}
	*d = NodeDef(p)
	return nil
}

// MarshalJSON writes the known fields in ComfyUI's order, then Extra.
func (d NodeDef) MarshalJSON() ([]byte, error) {
	type plain NodeDef
	p := plain(d)
	p.Output = orEmptySlice(p.Output)
	p.OutputName = orEmptySlice(p.OutputName)
	p.OutputIsList = orEmptySlice(p.OutputIsList)
	return marshalWithExtra(p, d.Extra)
}

// NodeInputs is the "input" of a NodeDef. Each section keeps declaration order.
type NodeInputs struct {
	Required InputSpecs `json:"required,omitzero"`
	Optional InputSpecs `json:"optional,omitzero"`
	Hidden   InputSpecs `json:"hidden,omitzero"`
}

// Lookup finds an input by name in any section.
func (in NodeInputs) Lookup(name string) (spec InputSpec, section string, ok bool) {
	for _, s := range []struct {
		name  string
		specs InputSpecs
	}{{"required", in.Required}, {"optional", in.Optional}, {"hidden", in.Hidden}} {
		if sp, ok := s.specs.Get(name); ok {
			return sp, s.name, true
		}
	}
	return InputSpec{}, "", false
}

// InputOrder is the "input_order" of a NodeDef.
type InputOrder struct {
	Required []string `json:"required,omitzero"`
	Optional []string `json:"optional,omitzero"`
	Hidden   []string `json:"hidden,omitzero"`
}

// InputSpec is one named input with its raw spec, e.g. ["INT", {"min": 0}],
// [["a", "b"], {}] or the bare string "PROMPT" for hidden inputs.
type InputSpec struct {
	Name string
	Spec json.RawMessage
}

// InputSpecs is a JSON object of input specs with its key order kept.
type InputSpecs []InputSpec

// Get returns the spec of the named input.
func (s InputSpecs) Get(name string) (InputSpec, bool) {
	i := slices.IndexFunc(s, func(sp InputSpec) bool { return sp.Name == name })
	if i < 0 {
		return InputSpec{}, false
	}
	return s[i], true
}

// UnmarshalJSON reads the object key by key. null decodes as nil.
func (s *InputSpecs) UnmarshalJSON(data []byte) error {
	if jsonKind(data) == "null" {
		*s = nil
		return nil
	}
	out := InputSpecs{}
	err := comfyjson.DecodeMembers(data, func(name string, spec json.RawMessage) {
		out = append(out, InputSpec{Name: name, Spec: spec})
	})
	if err != nil {
		return fmt.Errorf("input specs: %w", err)
	}
	*s = out
	return nil
}

// MarshalJSON writes the object in slice order.
func (s InputSpecs) MarshalJSON() ([]byte, error) {
	return comfyjson.MarshalMembers(len(s), func(i int) (string, any) { return s[i].Name, orNull(s[i].Spec) })
}

// TypeName returns the spec's type: a name such as "INT" or "IMAGE,MASK", or
// "COMBO" for a classic combo whose first element lists the allowed values
// (then returned as options).
func (sp InputSpec) TypeName() (typ string, options []json.RawMessage, err error) {
	if jsonKind(sp.Spec) == "string" {
		err = json.Unmarshal(sp.Spec, &typ)
		return typ, nil, err
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(sp.Spec, &elems); err != nil || len(elems) == 0 {
		return "", nil, fmt.Errorf("input %q: spec is not a non-empty list or a string", sp.Name)
	}
	switch jsonKind(elems[0]) {
	case "string":
		err = json.Unmarshal(elems[0], &typ)
		return typ, nil, err
	case "array":
		err = json.Unmarshal(elems[0], &options)
		return "COMBO", options, err
	}
	return "", nil, fmt.Errorf("input %q: spec type is a %s", sp.Name, jsonKind(elems[0]))
}

// Options returns the spec's options object (second element), or nil.
func (sp InputSpec) Options() json.RawMessage {
	var elems []json.RawMessage
	if json.Unmarshal(sp.Spec, &elems) != nil || len(elems) < 2 {
		return nil
	}
	return elems[1]
}

// ObjectInfo is GET /object_info (or one class of it), in server order.
type ObjectInfo []NamedNodeDef

// NamedNodeDef is one class of ObjectInfo.
type NamedNodeDef struct {
	Class string
	Def   NodeDef
}

// Get returns the definition of class.
func (o ObjectInfo) Get(class string) (NodeDef, bool) {
	i := slices.IndexFunc(o, func(n NamedNodeDef) bool { return n.Class == class })
	if i < 0 {
		return NodeDef{}, false
	}
	return o[i].Def, true
}

// Map returns the definitions keyed by class.
func (o ObjectInfo) Map() map[string]NodeDef {
	m := make(map[string]NodeDef, len(o))
	for _, n := range o {
		m[n.Class] = n.Def
	}
	return m
}

// UnmarshalJSON reads the object key by key to keep the order.
func (o *ObjectInfo) UnmarshalJSON(data []byte) error {
	out := ObjectInfo{}
	err := comfyjson.DecodeMembers(data, func(class string, def NodeDef) {
		out = append(out, NamedNodeDef{Class: class, Def: def})
	})
	if err != nil {
		return fmt.Errorf("object_info: %w", err)
	}
	*o = out
	return nil
}

// MarshalJSON writes the object in slice order.
func (o ObjectInfo) MarshalJSON() ([]byte, error) {
	return comfyjson.MarshalMembers(len(o), func(i int) (string, any) { return o[i].Class, o[i].Def })
}
