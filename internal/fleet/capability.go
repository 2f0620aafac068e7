package fleet

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/comfygate/comfygate/comfy"
)

// ErrUnrunnable is matched (errors.Is) by every *UnrunnableError.
var ErrUnrunnable = errors.New("no backend can run this graph")

// UnrunnableError says that no backend of the fleet has a node class or a
// model file a graph needs. Exactly one of Class and Model is set.
type UnrunnableError struct {
	NodeID string    // the first node that needs it
	Class  string    // missing node class
	Model  *ModelRef // missing model file
}

func (e *UnrunnableError) Error() string {
	if e.Model != nil {
		return e.Model.String() + " is not on any backend"
	}
	return fmt.Sprintf("node class %q (node %s) is not on any backend", e.Class, e.NodeID)
}

// Is makes errors.Is(err, ErrUnrunnable) true.
func (e *UnrunnableError) Is(target error) bool { return target == ErrUnrunnable }

// capabilities is what one backend can run, read from its /object_info.
// It is immutable once built, so placement reads it without locks.
type capabilities struct {
	info    comfy.ObjectInfo
	classes map[string]bool
	// combos holds the allowed values of model-like combo inputs:
	// class → input → value.
	combos map[string]map[string]map[string]bool
	// models lists model files by input name ("ckpt_name" → sorted names).
	models map[string][]string
}

// capabilitiesOf indexes a backend's node catalog.
func capabilitiesOf(info comfy.ObjectInfo) *capabilities {
	c := &capabilities{
		info:    info,
		classes: make(map[string]bool, len(info)),
		combos:  make(map[string]map[string]map[string]bool),
		models:  make(map[string][]string),
	}
	for _, n := range info {
		c.classes[n.Class] = true
		c.indexCombos(n.Class, n.Def)
	}
	for k, v := range c.models {
		slices.Sort(v)
		c.models[k] = slices.Compact(v)
	}
	return c
}

func (c *capabilities) indexCombos(class string, def comfy.NodeDef) {
	for _, specs := range []comfy.InputSpecs{def.Input.Required, def.Input.Optional} {
		for _, sp := range specs {
			if !modelInputs[sp.Name] && !isNameInput(sp.Name) {
				continue
			}
			values, ok := comboValues(sp)
			if !ok {
				continue
			}
			if c.combos[class] == nil {
				c.combos[class] = make(map[string]map[string]bool)
			}
			set := make(map[string]bool, len(values))
			for _, v := range values {
				set[v] = true
				if modelInputLike(sp.Name, v) {
					c.models[sp.Name] = append(c.models[sp.Name], v)
				}
			}
			c.combos[class][sp.Name] = set
		}
	}
}

// comboValues returns the string options of a combo spec, classic
// ([["a","b"], {...}]) or newer (["COMBO", {"options": ["a","b"]}]).
func comboValues(sp comfy.InputSpec) ([]string, bool) {
	typ, opts, err := sp.TypeName()
	if err != nil || typ != "COMBO" {
		return nil, false
	}
	if opts == nil {
		var o struct {
			Options []json.RawMessage `json:"options"`
		}
		if json.Unmarshal(sp.Options(), &o) != nil || o.Options == nil {
			return nil, false
		}
		opts = o.Options
	}
	values := make([]string, 0, len(opts))
	for _, raw := range opts {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			values = append(values, s)
		}
	}
	return values, true
}

// check returns nil when the backend has every class and model of req, or
// an *UnrunnableError naming the first thing missing.
func (c *capabilities) check(req *Requirements) error {
	if req == nil {
		return nil
	}
	for _, class := range req.Classes {
		if !c.classes[class] {
			return &UnrunnableError{Class: class, NodeID: req.nodeOf(class)}
		}
	}
	for i, m := range req.Models {
		set, ok := c.combos[m.Class][m.Input]
		// An input this backend does not list as a combo (a custom
		// loader taking a free-form path) cannot be checked here.
		if ok && !set[m.Name] {
			return &UnrunnableError{NodeID: m.NodeID, Model: &req.Models[i]}
		}
	}
	return nil
}

// nodeCount is the number of node classes.
func (c *capabilities) nodeCount() int { return len(c.classes) }
