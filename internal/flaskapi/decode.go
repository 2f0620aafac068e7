package flaskapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// runRequest is a decoded POST /api/workflow/{name} body, in one of the
// Flask service's two forms (app.py run_workflow):
//
//	simple:   {"prompt": "text", "target_node"?: "6"}
//	advanced: {"6": {"inputs": {"text": "..."}}, "3": {"seed": 1}}
//
// The simple form is chosen, as there, by the presence of a "prompt" key;
// its other keys are ignored. In the advanced form a node's object is its
// inputs unless it has an "inputs" key.
type runRequest struct {
	simple    bool
	prompt    string
	target    string                    // "" = the positive prompt
	overrides map[string]map[string]any // node id → inputs
}

// Messages of the Flask service, kept word for word: clients match them.
const (
	msgNotJSON       = "Request must be JSON. Check Content-Type header and request body format."
	msgInvalidFormat = `Invalid request format. Expected either {"prompt": "text", "target_node": "node_id"} or node updates object`
)

// isJSON is Flask's request.is_json: application/json or application/*+json.
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// decodeRunRequest decodes an untrusted body. Every failure is a 400 that
// says what is wrong and where.
func decodeRunRequest(data []byte) (runRequest, error) {
	fields, err := decodeObject(data)
	if err != nil {
		return runRequest{}, err
	}
	if raw, ok := fields["prompt"]; ok {
		return decodeSimple(raw, fields["target_node"])
	}
	req := runRequest{overrides: make(map[string]map[string]any, len(fields))}
	for id, raw := range fields {
		inputs, err := decodeNodeUpdate(id, raw)
		if err != nil {
			return runRequest{}, err
		}
		req.overrides[id] = inputs
	}
	return req, nil
}

// decodeObject checks that data is exactly one JSON object and returns its
// members (a repeated key keeps its last value, as in Python).
func decodeObject(data []byte) (map[string]json.RawMessage, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, errorf(http.StatusBadRequest, "Invalid JSON format: the request body is empty")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return nil, jsonError(err, int64(len(trimmed)))
	}
	if end := dec.InputOffset(); end != int64(len(trimmed)) {
		return nil, errorf(http.StatusBadRequest, "Invalid JSON format: unexpected data after the JSON value (byte offset %d)", end)
	}
	if raw[0] != '{' {
		return nil, errorf(http.StatusBadRequest, "%s", msgInvalidFormat)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, jsonError(err, 0)
	}
	return fields, nil
}

func decodeSimple(prompt, target json.RawMessage) (runRequest, error) {
	req := runRequest{simple: true}
	if err := json.Unmarshal(prompt, &req.prompt); err != nil || prompt[0] != '"' {
		return req, errorf(http.StatusBadRequest, "prompt: must be a string, not %s", kindOf(prompt))
	}
	if len(target) == 0 || string(target) == "null" {
		return req, nil
	}
	var n json.Number
	switch {
	case json.Unmarshal(target, &req.target) == nil:
	case json.Unmarshal(target, &n) == nil && isInteger(n):
		req.target = n.String()
	default:
		return req, errorf(http.StatusBadRequest, "target_node: must be a node id such as \"6\", not %s", kindOf(target))
	}
	return req, nil
}

// decodeNodeUpdate reads one node of the advanced form. Numbers stay
// json.Number, so a 64-bit seed reaches the graph exactly.
func decodeNodeUpdate(id string, raw json.RawMessage) (map[string]any, error) {
	var node map[string]json.RawMessage
	if raw[0] != '{' || json.Unmarshal(raw, &node) != nil {
		return nil, errorf(http.StatusBadRequest, "%s: must be an object of inputs such as {\"inputs\": {\"text\": \"...\"}}, not %s", id, kindOf(raw))
	}
	field := id
	if in, ok := node["inputs"]; ok {
		raw, field = in, id+".inputs"
		if raw[0] != '{' {
			return nil, errorf(http.StatusBadRequest, "%s: must be an object, not %s", field, kindOf(raw))
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var inputs map[string]any
	if err := dec.Decode(&inputs); err != nil {
		return nil, errorf(http.StatusBadRequest, "%s: %v", field, err)
	}
	return inputs, nil
}

// jsonError turns a decoder failure into Flask's "Invalid JSON format" 400,
// with the byte offset of the problem; offset is the body's length, where a
// truncated body ends.
func jsonError(err error, offset int64) error {
	var (
		syn      *json.SyntaxError
		tooLarge *http.MaxBytesError
	)
	switch {
	case errors.As(err, &tooLarge):
		return err
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return errorf(http.StatusBadRequest, "Invalid JSON format: the body ends inside a value (after %d bytes)", offset)
	case errors.As(err, &syn):
		return errorf(http.StatusBadRequest, "Invalid JSON format: %s (byte offset %d)", strings.TrimPrefix(syn.Error(), "json: "), syn.Offset)
	}
	return errorf(http.StatusBadRequest, "Invalid JSON format: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// kindOf names a JSON value's kind for error messages.
func kindOf(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

func isInteger(n json.Number) bool {
	_, err := n.Int64()
	return err == nil && !strings.ContainsAny(n.String(), ".eE")
}

// readBody reads a bounded body (adapt set the bound).
func readBody(r *http.Request) ([]byte, error) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, err
		}
		return nil, fmt.Errorf("read body: %w", err)
	}
	return data, nil
}
