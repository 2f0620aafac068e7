package workflow

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"path"
	"slices"
	"strings"

	"github.com/comfygate/comfygate/comfy/comfyjson"
)

// ParamError is a parameter value that cannot be applied. Param names the
// field ("steps"), Problem says what is wrong.
type ParamError struct {
	Param   string
	Problem string
}

func (e *ParamError) Error() string { return "params." + e.Param + ": " + e.Problem }

// Schema returns a JSON Schema (draft 2020-12) object schema of the
// parameters: one property each, with type, default, bounds, enum and
// description, and no other properties allowed. Numbers stay exact.
func Schema(params []Param) map[string]any {
	props := map[string]any{}
	for _, p := range params {
		prop := map[string]any{"type": schemaType(p.Type)}
		if p.Type == TypeImage {
			prop["format"] = "image"
		}
		if p.Default != nil {
			prop["default"] = p.Default
		}
		if p.Minimum != "" {
			prop["minimum"] = p.Minimum
		}
		if p.Maximum != "" {
			prop["maximum"] = p.Maximum
		}
		if len(p.Enum) > 0 {
			prop["enum"] = p.Enum
		}
		if p.Description != "" {
			prop["description"] = p.Description
		}
		props[p.Name] = prop
	}
	return map[string]any{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"type":                 "object",
		"properties":           props,
		"additionalProperties": false,
	}
}

func schemaType(t string) string {
	if t == TypeImage {
		return TypeString
	}
	return t
}

// Bind returns a new graph with the values set on the parameters' targets.
// Values may be decoded JSON (json.Number, string, bool) or Go numbers;
// integers stay exact. The first problem, in name order, is returned as a
// *ParamError.
func Bind(g Graph, params []Param, values map[string]any) (Graph, error) {
	byName := make(map[string]Param, len(params))
	for _, p := range params {
		byName[p.Name] = p
	}
	names := make([]string, 0, len(values))
	for name := range values {
		names = append(names, name)
	}
	slices.Sort(names)
	out := g.Clone()
	for _, name := range names {
		p, ok := byName[name]
		if !ok {
			return nil, &ParamError{Param: name, Problem: "unknown parameter"}
		}
		v, err := p.coerce(values[name])
		if err != nil {
			return nil, err
		}
		n, ok := out[p.Target.NodeID]
		if !ok {
			return nil, &ParamError{Param: name, Problem: "targets node " + p.Target.NodeID + ", which is not in the workflow"}
		}
		if n.Inputs == nil {
			n.Inputs = map[string]any{}
		}
		n.Inputs[p.Target.Input] = v
	}
	return out, nil
}

// coerce checks one value against the parameter and returns it in graph form.
func (p Param) coerce(v any) (any, error) {
	bad := func(format string, args ...any) error {
		return &ParamError{Param: p.Name, Problem: fmt.Sprintf(format, args...)}
	}
	switch p.Type {
	case TypeInteger, TypeNumber:
		num, ok := toNumber(v, p.Type == TypeInteger)
		if !ok {
			return nil, bad("must be %s", map[string]string{TypeInteger: "an integer", TypeNumber: "a number"}[p.Type])
		}
		if err := p.checkBounds(num); err != nil {
			return nil, err
		}
		return num, nil
	case TypeBoolean:
		b, ok := v.(bool)
		if !ok {
			return nil, bad("must be a boolean")
		}
		return b, nil
	case TypeString, TypeImage:
		s, ok := v.(string)
		if !ok {
			return nil, bad("must be a string")
		}
		if p.Type == TypeImage && !safeFileName(s) {
			return nil, bad("must be a file name inside the input directory")
		}
		if len(p.Enum) > 0 && !containsPy(p.Enum, s) {
			return nil, bad("must be one of %s", enumList(p.Enum))
		}
		return s, nil
	}
	return v, nil
}

// toNumber returns v as an exact json.Number; integers must be integral.
func toNumber(v any, integer bool) (json.Number, bool) {
	switch kindOf(v) {
	case pyInt:
		n, _ := bigIntOf(v)
		return json.Number(n.String()), true
	case pyFloat:
		f, _ := floatOf(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return "", false
		}
		if integer {
			if f != math.Trunc(f) {
				return "", false
			}
			n, _ := new(big.Float).SetFloat64(f).Int(nil)
			return json.Number(n.String()), true
		}
		if n, ok := v.(json.Number); ok {
			return n, true
		}
		return json.Number(comfyjson.FloatRepr(f)), true
	}
	return "", false
}

func (p Param) checkBounds(n json.Number) error {
	if p.Minimum != "" {
		if less, _ := pyLess(n, p.Minimum, "<"); less {
			return &ParamError{Param: p.Name, Problem: "must be ≥ " + string(p.Minimum)}
		}
	}
	if p.Maximum != "" {
		if more, _ := pyLess(p.Maximum, n, "<"); more {
			return &ParamError{Param: p.Name, Problem: "must be ≤ " + string(p.Maximum)}
		}
	}
	return nil
}

func enumList(enum []any) string {
	var parts []string
	for i, e := range enum {
		if i == 10 {
			parts = append(parts, fmt.Sprintf("… (%d in all)", len(enum)))
			break
		}
		b, _ := json.Marshal(e)
		parts = append(parts, string(b))
	}
	return strings.Join(parts, ", ")
}

// safeFileName refuses absolute paths and ".." segments: ComfyUI's loader
// checks only that a file exists, wherever it is.
func safeFileName(s string) bool {
	name, _ := SplitAnnotated(s)
	if name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, "\\") || strings.ContainsRune(name, 0) {
		return false
	}
	for _, seg := range strings.Split(path.Clean(name), "/") {
		if seg == ".." {
			return false
		}
	}
	return !strings.Contains(name, "../")
}

// NodeOverride replaces some inputs of one node.
type NodeOverride struct {
	Inputs map[string]any `json:"inputs"`
}

// OverrideError is an override that cannot be applied.
type OverrideError struct {
	NodeID  string
	Input   string // "" when the problem is the node
	Problem string
}

func (e *OverrideError) Error() string {
	if e.Input == "" {
		return fmt.Sprintf("overrides.%s: %s", e.NodeID, e.Problem)
	}
	return fmt.Sprintf("overrides.%s.inputs.%s: %s", e.NodeID, e.Input, e.Problem)
}

// ApplyOverrides returns a new graph with the given inputs replaced, in
// node-id order; unknown nodes and values that are not JSON are errors.
func ApplyOverrides(g Graph, overrides map[string]NodeOverride) (Graph, error) {
	ids := make([]string, 0, len(overrides))
	for id := range overrides {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, NaturalCompare)
	out := g.Clone()
	for _, id := range ids {
		n, ok := out[id]
		if !ok {
			return nil, &OverrideError{NodeID: id, Problem: "no such node in the workflow"}
		}
		names := make([]string, 0, len(overrides[id].Inputs))
		for name := range overrides[id].Inputs {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			v := overrides[id].Inputs[name]
			if kindOf(v) == pyOther {
				return nil, &OverrideError{NodeID: id, Input: name, Problem: fmt.Sprintf("unsupported value of type %T", v)}
			}
			if n.Inputs == nil {
				n.Inputs = map[string]any{}
			}
			n.Inputs[name] = cloneValue(v)
		}
	}
	return out, nil
}
