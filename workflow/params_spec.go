package workflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/comfygate/comfygate/comfy/comfyjson"
)

// ParseParamSpec reads hand-written parameter definitions, JSON or YAML:
//
//	seed:   {target: "3.inputs.seed", type: integer, default: 42, min: 0, max: 18446744073709551615}
//	prompt: {target: "6.inputs.text", type: string, description: "What to draw"}
//
// Keys of each entry: target (required: "<node>.inputs.<input>" or
// "<node>.<input>"), type (required: string, integer, number, boolean,
// image), default, min/minimum, max/maximum, step, enum, description.
// Parameters keep the file's order; numbers keep their exact text. Errors
// are *ParamError naming the parameter.
func ParseParamSpec(data []byte) ([]Param, error) {
	tree, err := specTree(data)
	if err != nil {
		return nil, err
	}
	entries, ok := tree.(comfyjson.Object)
	if !ok {
		return nil, fmt.Errorf("param spec: must be a mapping of parameter names, got %s", kindName(tree))
	}
	out := make([]Param, 0, len(entries))
	for _, m := range entries {
		p, err := parseParamEntry(m.Key, m.Value)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func specTree(data []byte) (any, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		t, err := parseTree(trimmed, Limits{MaxDepth: 32})
		if err != nil {
			return nil, fmt.Errorf("param spec: %w", err)
		}
		return t, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("param spec: %w", err)
	}
	if len(doc.Content) == 0 {
		return comfyjson.Object{}, nil
	}
	return fromYAML(doc.Content[0], 0)
}

// fromYAML converts a YAML node, keeping mapping order and number text.
func fromYAML(n *yaml.Node, depth int) (any, error) {
	if depth > 32 {
		return nil, &LimitError{What: "nesting depth", Limit: 32}
	}
	switch n.Kind {
	case yaml.MappingNode:
		v := comfyjson.Object{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			e, err := fromYAML(n.Content[i+1], depth+1)
			if err != nil {
				return nil, err
			}
			v.Set(n.Content[i].Value, e)
		}
		return v, nil
	case yaml.SequenceNode:
		v := []any{}
		for _, c := range n.Content {
			e, err := fromYAML(c, depth+1)
			if err != nil {
				return nil, err
			}
			v = append(v, e)
		}
		return v, nil
	case yaml.ScalarNode:
		return yamlScalar(n)
	case yaml.AliasNode:
		return nil, fmt.Errorf("param spec: line %d: aliases are not supported", n.Line)
	}
	return nil, fmt.Errorf("param spec: line %d: unsupported YAML node", n.Line)
}

var yamlNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$`)

func yamlScalar(n *yaml.Node) (any, error) {
	switch n.Tag {
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, fmt.Errorf("param spec: line %d: %w", n.Line, err)
		}
		return b, nil
	case "!!int", "!!float":
		if !yamlNumber.MatchString(n.Value) {
			return nil, fmt.Errorf("param spec: line %d: write %q as a plain decimal number", n.Line, n.Value)
		}
		return json.Number(n.Value), nil
	}
	return n.Value, nil
}

var paramName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func parseParamEntry(name string, v any) (Param, error) {
	bad := func(format string, args ...any) (Param, error) {
		return Param{}, &ParamError{Param: name, Problem: fmt.Sprintf(format, args...)}
	}
	if !paramName.MatchString(name) {
		return bad("name must be letters, digits and _, not starting with a digit")
	}
	fields, ok := v.(comfyjson.Object)
	if !ok {
		return bad("must be a mapping with target and type")
	}
	p := Param{Name: name}
	for _, f := range fields {
		if err := p.setSpecField(f.Key, f.Value); err != nil {
			return bad("%s", err.Error())
		}
	}
	switch {
	case p.Target.NodeID == "":
		return bad("target: required (\"<node>.inputs.<input>\")")
	case p.Type == "":
		return bad("type: required (string, integer, number, boolean or image)")
	}
	if p.Default != nil {
		if _, err := p.coerce(p.Default); err != nil {
			return bad("default: %s", err.(*ParamError).Problem)
		}
	}
	return p, nil
}

func (p *Param) setSpecField(key string, v any) error {
	num := func() (json.Number, error) {
		n, ok := v.(json.Number)
		if !ok {
			return "", fmt.Errorf("%s: must be a number", key)
		}
		return n, nil
	}
	s, isStr := v.(string)
	var err error
	switch key {
	case "target":
		if !isStr {
			return fmt.Errorf("target: must be a string")
		}
		p.Target, err = ParseTarget(s)
	case "type":
		if !isStr || !validParamType(s) {
			return fmt.Errorf("type: must be string, integer, number, boolean or image")
		}
		p.Type = s
	case "default":
		p.Default = comfyjson.Plain(v)
	case "min", "minimum":
		p.Minimum, err = num()
	case "max", "maximum":
		p.Maximum, err = num()
	case "step":
		p.Step, err = num()
	case "enum":
		list, ok := v.([]any)
		if !ok {
			return fmt.Errorf("enum: must be a list")
		}
		p.Enum = comfyjson.Plain(list).([]any)
	case "description":
		if !isStr {
			return fmt.Errorf("description: must be a string")
		}
		p.Description = s
	default:
		return fmt.Errorf("unknown field %q", key)
	}
	return err
}

func validParamType(t string) bool {
	switch t {
	case TypeString, TypeInteger, TypeNumber, TypeBoolean, TypeImage:
		return true
	}
	return false
}

// ParseTarget reads "<node>.inputs.<input>" or "<node>.<input>".
func ParseTarget(s string) (Target, error) {
	if node, input, ok := strings.Cut(s, ".inputs."); ok && node != "" && input != "" {
		return Target{NodeID: node, Input: input}, nil
	}
	i := strings.LastIndex(s, ".")
	if i <= 0 || i == len(s)-1 {
		return Target{}, fmt.Errorf("target: %q is not \"<node>.inputs.<input>\"", s)
	}
	return Target{NodeID: s[:i], Input: s[i+1:]}, nil
}
