package workflow

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/comfy/comfyjson"
)

// Catalog is the set of node classes a ComfyUI server knows, built from its
// GET /object_info answer. Validation, parameter detection and UI→API
// conversion all read it. A Catalog is safe for concurrent use once built;
// SetValidator must happen before it is shared.
type Catalog struct {
	classes    map[string]*NodeClass
	order      []string
	validators map[string]*Validator
}

// NodeClass is one node definition.
type NodeClass struct {
	Name         string
	DisplayName  string // "" when the server sends null
	Description  string
	Category     string
	PythonModule string
	OutputNode   bool
	Deprecated   bool
	Experimental bool
	// V3 marks nodes written against ComfyUI's V3 node API: their output
	// list is a Python list rather than a tuple, which shows in some error
	// texts.
	V3 bool
	// Inputs are the required, then optional, then hidden inputs, each
	// section in input_order.
	Inputs  []*InputSpec
	Outputs []OutputSpec
	// Raw is the definition exactly as received.
	Raw json.RawMessage
}

// Section names an input section of a node definition.
const (
	SectionRequired = "required"
	SectionOptional = "optional"
	SectionHidden   = "hidden"
)

// OutputSpec is one output slot.
type OutputSpec struct {
	Type    string // a type name, or "COMBO" when the output type is a value list
	Name    string
	IsList  bool
	Tooltip string
	pyType  any // the output type as Python sees it: a string or a list
}

// Title returns the display name, or the class name when there is none.
func (c *NodeClass) Title() string {
	if c.DisplayName != "" {
		return c.DisplayName
	}
	return c.Name
}

// Input returns the named input in any section.
func (c *NodeClass) Input(name string) (*InputSpec, bool) {
	for _, in := range c.Inputs {
		if in.Name == name {
			return in, true
		}
	}
	return nil, false
}

// Section returns the inputs of one section in order.
func (c *NodeClass) Section(section string) []*InputSpec {
	var out []*InputSpec
	for _, in := range c.Inputs {
		if in.Section == section {
			out = append(out, in)
		}
	}
	return out
}

// ParseObjectInfo builds a Catalog from a GET /object_info body (or a
// GET /object_info/{class} body). Number values keep their exact text.
func ParseObjectInfo(data []byte) (*Catalog, error) {
	// A backend's catalog is large (every node of every custom node pack)
	// and comes from the fleet, not from a client.
	t, err := parseTree(data, Limits{MaxStringLen: 64 << 20, MaxDepth: 64, MaxValues: 1 << 26})
	if err != nil {
		return nil, fmt.Errorf("object_info: %w", err)
	}
	classes, ok := t.(comfyjson.Object)
	if !ok {
		return nil, fmt.Errorf("object_info: must be an object, got %s", kindName(t))
	}
	c := &Catalog{classes: make(map[string]*NodeClass, len(classes))}
	for _, m := range classes {
		nc, err := parseClass(m.Key, m.Value)
		if err != nil {
			return nil, fmt.Errorf("object_info: class %q: %w", m.Key, err)
		}
		c.classes[m.Key] = nc
		c.order = append(c.order, m.Key)
	}
	return c, nil
}

// NewCatalog builds a Catalog from definitions decoded by package comfy.
func NewCatalog(info comfy.ObjectInfo) (*Catalog, error) {
	data, err := json.Marshal(info)
	if err != nil {
		return nil, fmt.Errorf("object_info: %w", err)
	}
	return ParseObjectInfo(data)
}

// CatalogFromDefs builds a Catalog from definitions keyed by class; as a
// map has no order, classes are taken in name order.
func CatalogFromDefs(defs map[string]comfy.NodeDef) (*Catalog, error) {
	names := make([]string, 0, len(defs))
	for name := range defs {
		names = append(names, name)
	}
	slices.Sort(names)
	info := make(comfy.ObjectInfo, 0, len(names))
	for _, name := range names {
		info = append(info, comfy.NamedNodeDef{Class: name, Def: defs[name]})
	}
	return NewCatalog(info)
}

// Class returns the named class.
func (c *Catalog) Class(name string) (*NodeClass, bool) {
	if c == nil {
		return nil, false
	}
	nc, ok := c.classes[name]
	return nc, ok
}

// Names returns the class names in the server's order.
func (c *Catalog) Names() []string { return slices.Clone(c.order) }

// Len is the number of classes.
func (c *Catalog) Len() int { return len(c.order) }

// ObjectInfo returns the catalog as a GET /object_info body, each definition
// exactly as it was parsed.
func (c *Catalog) ObjectInfo() json.RawMessage {
	var out []byte
	out = append(out, '{')
	for i, name := range c.order {
		if i > 0 {
			out = append(out, ", "...)
		}
		k, _ := json.Marshal(name)
		out = append(out, k...)
		out = append(out, ": "...)
		out = append(out, c.classes[name].Raw...)
	}
	return append(out, '}')
}

// SetValidator installs (or, with nil, removes) the custom input check of a
// class, replacing the built-in one. Call it before the catalog is shared.
func (c *Catalog) SetValidator(class string, v *Validator) {
	if c.validators == nil {
		c.validators = map[string]*Validator{}
	}
	c.validators[class] = v
}

// validator returns the custom check of class: one set with SetValidator,
// else the built-in one of a ComfyUI core node.
func (c *Catalog) validator(class string) *Validator {
	if v, ok := c.validators[class]; ok {
		return v
	}
	return builtinValidator(class)
}
