package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxParamsFile bounds --params-file: the server takes no bigger JSON body.
const maxParamsFile = 8 << 20

// maxYAMLNodes bounds the values a YAML params file may expand to, so that
// aliases cannot blow a small file up ("billion laughs").
const maxYAMLNodes = 100_000

// parseParam splits one -p key=value. The value stays text: run types it
// from the workflow's schema (paramTypes.value).
func parseParam(s string) (key, raw string, err error) {
	key, raw, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(key) == "" {
		return "", "", fmt.Errorf("-p %q: want key=value", s)
	}
	return key, raw, nil
}

// guessValue reads a value whose type the schema does not say: JSON when
// raw is one whole JSON value (numbers exact, as json.Number; booleans;
// arrays), else the raw text, so that `-p note=a red fox` needs no quoting.
func guessValue(raw string) any {
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return raw
	}
	if _, err := dec.Token(); err != io.EOF {
		return raw // "1 2", "true story": more than one value
	}
	return v
}

// parseImage splits one --image name=path.
func parseImage(s string) (name, path string, err error) {
	name, path, ok := strings.Cut(s, "=")
	if !ok || name == "" || path == "" {
		return "", "", fmt.Errorf("--image %q: want name=path", s)
	}
	return name, path, nil
}

// readParamsFile reads a JSON or YAML object of parameter values. YAML is
// chosen by the .yaml/.yml extension; numbers stay exact either way.
func readParamsFile(path string) (map[string]any, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--params-file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxParamsFile+1))
	if err != nil {
		return nil, fmt.Errorf("--params-file %s: %w", path, err)
	}
	if len(data) > maxParamsFile {
		return nil, fmt.Errorf("--params-file %s: larger than %d bytes", path, maxParamsFile)
	}
	var params map[string]any
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		params, err = decodeYAMLParams(data)
	default:
		params, err = decodeJSONParams(data)
	}
	if err != nil {
		return nil, fmt.Errorf("--params-file %s: %w", path, err)
	}
	return params, nil
}

func decodeJSONParams(data []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	return asObject(v)
}

func asObject(v any) (map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("want an object of parameter values, got %s", kindOf(v))
	}
	return m, nil
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "nothing"
	case []any:
		return "a list"
	case string:
		return "a string"
	default:
		return "a scalar"
	}
}

func decodeYAMLParams(data []byte) (map[string]any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("not YAML: %w", err)
	}
	budget := maxYAMLNodes
	v, err := yamlValue(&doc, &budget)
	if err != nil {
		return nil, err
	}
	return asObject(v)
}

// yamlValue turns a YAML node into what encoding/json would decode, with
// integers and floats as json.Number so that a 64-bit seed stays exact.
func yamlValue(n *yaml.Node, budget *int) (any, error) {
	if *budget--; *budget < 0 {
		return nil, fmt.Errorf("more than %d values", maxYAMLNodes)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return yamlValue(n.Content[0], budget)
	case yaml.AliasNode:
		return yamlValue(n.Alias, budget)
	case yaml.MappingNode:
		return yamlMap(n, budget)
	case yaml.SequenceNode:
		list := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := yamlValue(c, budget)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		return list, nil
	}
	return yamlScalar(n)
}

func yamlMap(n *yaml.Node, budget *int) (any, error) {
	m := make(map[string]any, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if k.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("line %d: keys must be plain names", k.Line)
		}
		v, err := yamlValue(n.Content[i+1], budget)
		if err != nil {
			return nil, err
		}
		m[k.Value] = v
	}
	return m, nil
}

func yamlScalar(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		return b, nil
	case "!!int":
		i, ok := new(big.Int).SetString(strings.ReplaceAll(n.Value, "_", ""), 0)
		if !ok {
			return nil, fmt.Errorf("line %d: bad integer %q", n.Line, n.Value)
		}
		return json.Number(i.String()), nil
	case "!!float":
		return yamlFloat(n)
	}
	return n.Value, nil
}

// yamlFloat keeps a float's literal when JSON can carry it as is.
func yamlFloat(n *yaml.Node) (any, error) {
	if json.Valid([]byte(n.Value)) {
		return json.Number(n.Value), nil
	}
	var f float64
	if err := n.Decode(&f); err != nil {
		return nil, fmt.Errorf("line %d: %w", n.Line, err)
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !json.Valid([]byte(s)) { // .inf, .nan
		return nil, fmt.Errorf("line %d: %s is not a number JSON can carry", n.Line, n.Value)
	}
	return json.Number(s), nil
}
