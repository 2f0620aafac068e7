package main

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/comfygate/comfygate/api"
)

// paramTypes is what run reads from a workflow's parameter schema: the
// JSON type of each parameter, so that a -p value is sent as the type the
// server checks it against (`-p prompt=1984` is the text "1984", `-p
// steps=20` the number 20) instead of a guess from how the text looks.
type paramTypes struct {
	workflow string
	types    map[string]string // name → "string", "integer", "number", "boolean"; "" when the schema gives none
	// closed: the schema allows no other parameters (the server's
	// additionalProperties: false), so an unknown name is an error here
	// rather than a round trip.
	closed bool
}

// typesOf reads the properties of wf's schema. A property whose type is a
// list ("integer" or "null") counts as its first non-null type.
func typesOf(wf api.Workflow) paramTypes {
	pt := paramTypes{workflow: wf.Name, types: map[string]string{}}
	props, _ := wf.Schema["properties"].(map[string]any)
	for name, p := range props {
		prop, _ := p.(map[string]any)
		pt.types[name] = schemaType(prop["type"])
	}
	pt.closed = wf.Schema["additionalProperties"] == false
	return pt
}

func schemaType(t any) string {
	switch t := t.(type) {
	case string:
		return t
	case []any:
		for _, v := range t {
			if s, ok := v.(string); ok && s != "null" {
				return s
			}
		}
	}
	return ""
}

// check fails when the workflow has no parameter called name; flag is how
// the command line gave it ("-p", "--image", "--params-file x.yaml").
func (pt paramTypes) check(flag, name string) error {
	if _, ok := pt.types[name]; ok || !pt.closed {
		return nil
	}
	names := make([]string, 0, len(pt.types))
	for n := range pt.types {
		names = append(names, n)
	}
	slices.Sort(names)
	have := "it has none"
	if len(names) > 0 {
		have = "it has: " + strings.Join(names, ", ")
	}
	return fmt.Errorf("%s %s: workflow %s has no parameter %q (%s)", flag, name, pt.workflow, name, have)
}

// value turns the text of -p name=raw into the type the schema gives name.
func (pt paramTypes) value(name, raw string) (any, error) {
	if err := pt.check("-p", name); err != nil {
		return nil, err
	}
	typ := pt.types[name]
	v, ok := typedValue(typ, raw)
	if !ok {
		return nil, fmt.Errorf("-p %s=%s: %s of workflow %s %s", name, raw, name, pt.workflow, wants(typ))
	}
	return v, nil
}

// fileValue is a --params-file value as sent: YAML reads `prompt: 1984`
// as a number, but the schema says the prompt is text, so it is sent as
// the text it was written as. Other values go as they are; the server
// judges them.
func (pt paramTypes) fileValue(name string, v any) any {
	if pt.types[name] != "string" {
		return v
	}
	switch v := v.(type) {
	case json.Number:
		return string(v)
	case bool:
		return strconv.FormatBool(v)
	}
	return v
}

// wants says what a value of JSON type typ looks like.
func wants(typ string) string {
	switch typ {
	case "integer":
		return "takes a whole number, like 20 or -1"
	case "number":
		return "takes a number, like 7.5"
	default:
		return "takes true or false"
	}
}

// typedValue parses raw as a value of JSON type typ. Numbers stay exact
// (json.Number): a seed reaches 2^64-1. A type the schema does not give,
// or one run does not know (array, object), keeps the old reading: JSON
// when raw is one whole JSON value, else the text.
func typedValue(typ, raw string) (any, bool) {
	s := strings.TrimSpace(raw)
	switch typ {
	case "string":
		return raw, true
	case "integer":
		i, ok := new(big.Int).SetString(s, 10)
		if !ok {
			return nil, false
		}
		return json.Number(i.String()), true
	case "number":
		return numberValue(s)
	case "boolean":
		b, err := strconv.ParseBool(s)
		return b, err == nil
	}
	return guessValue(raw), true
}

// jsonNumber is the grammar of a JSON number.
var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// numberValue keeps a JSON number's literal; other spellings Go reads as
// a finite float (".5", "+2", "1.") are sent in their shortest form.
func numberValue(s string) (any, bool) {
	if jsonNumber.MatchString(s) {
		return json.Number(s), true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || strings.ContainsAny(s, "xXpP_") {
		return nil, false
	}
	return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), true
}
