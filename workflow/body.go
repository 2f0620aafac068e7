package workflow

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/comfy/comfyjson"
)

// InternalErrorBody is the text/plain body of ComfyUI's 500 answers (aiohttp's
// default for an unhandled exception).
const InternalErrorBody = "500 Internal Server Error\n\nServer got itself in trouble"

// MalformedError reports a POST /prompt body on which ComfyUI 0.3.64 raises an
// unhandled exception: the server answers 500 text/plain with
// InternalErrorBody (and, when the body parsed as JSON, still advances its
// queue counter).
type MalformedError struct {
	Reason string
}

func (e *MalformedError) Error() string { return "malformed prompt body: " + e.Reason }

// PromptBody is a decoded POST /prompt body.
type PromptBody struct {
	// Prompt is the "prompt" graph. Nodes that are not objects, lack a
	// class_type and so on are kept so that Validate can answer for them.
	Prompt Graph
	// PromptID is str() of "prompt_id" when HasPromptID (123 → "123",
	// null → "None"); ComfyUI makes a UUID4 otherwise.
	PromptID    string
	HasPromptID bool
	// ClientID is "client_id" when it is a JSON string.
	ClientID    string
	HasClientID bool
	// Number is float("number") when the body has it; the server counter is
	// then neither used nor advanced.
	Number *float64
	// Front is the truthiness of "front" (only looked at without Number).
	Front bool
	// ExtraData is "extra_data" as sent (nil when absent).
	ExtraData json.RawMessage
	// HasPartialTargets is true when "partial_execution_targets" is present
	// and not null.
	HasPartialTargets bool

	clientID  any // "client_id" as sent, when clientSet
	clientSet bool
	extra     any // "extra_data" as sent, when extraSet
	extraSet  bool
	partial   any // "partial_execution_targets" when present and not null
}

// DecodePromptBody decodes an untrusted POST /prompt body with default Limits.
//
// Errors: *MalformedError where ComfyUI answers a plain-text 500 (invalid
// JSON or UTF-8, an empty body, a bad "number", a "prompt" that is null, a
// number or a non-empty string, a non-object "extra_data" together with
// "client_id", ...); *comfy.PromptError (status 400, node_errors {}) for
// no_prompt and for the invalid_prompt answers that need no catalog;
// *LimitError for input beyond Limits. Everything else, including nodes that
// are strings or lack class_type, is left to Catalog.Validate, which answers
// in the prompt's order as ComfyUI does.
func DecodePromptBody(data []byte) (*PromptBody, error) {
	return DecodePromptBodyLimits(data, Limits{})
}

// DecodePromptBodyLimits is DecodePromptBody with explicit limits.
func DecodePromptBodyLimits(data []byte, lim Limits) (*PromptBody, error) {
	lim = lim.withDefaults()
	t, err := parseTree(data, lim)
	if err != nil {
		if le, ok := err.(*LimitError); ok {
			return nil, le
		}
		return nil, &MalformedError{Reason: err.Error()}
	}
	body, ok := t.(comfyjson.Object)
	if !ok {
		return nil, nonObjectBody(t)
	}
	b := &PromptBody{}
	if err := b.decodeQueueFields(body); err != nil {
		return nil, err
	}
	prompt, ok := body.Get("prompt")
	if !ok {
		return nil, noPromptError()
	}
	b.decodeOptionalFields(body)
	if _, isObj := b.extra.(comfyjson.Object); b.clientSet && b.extraSet && !isObj {
		return nil, &MalformedError{Reason: "extra_data is a " + kindName(b.extra) + ", not an object, and client_id is set"}
	}
	g, err := promptGraph(prompt, lim)
	if err != nil {
		return nil, err
	}
	b.Prompt = g
	return b, nil
}

// nonObjectBody reproduces `"number" in body` and friends on a JSON array
// (membership) or string (substring); other values raise.
func nonObjectBody(t any) error {
	for _, key := range []string{"number", "front", "prompt"} {
		switch x := t.(type) {
		case []any:
			if slices.Contains(x, any(key)) {
				return &MalformedError{Reason: "body is an array holding " + strconv.Quote(key)}
			}
		case string:
			if strings.Contains(x, key) {
				return &MalformedError{Reason: "body is a string containing " + strconv.Quote(key)}
			}
		default:
			return &MalformedError{Reason: "body is a " + kindName(t) + ", not an object"}
		}
	}
	return noPromptError()
}

func noPromptError() *comfy.PromptError {
	return &comfy.PromptError{Status: 400, Info: comfy.ErrorInfo{
		Type: "no_prompt", Message: "No prompt provided", Details: "No prompt provided",
		ExtraInfo: map[string]any{},
	}, NodeErrors: map[string]comfy.NodeError{}}
}

func (b *PromptBody) decodeQueueFields(t comfyjson.Object) error {
	if v, ok := t.Get("number"); ok {
		f, exc := pyFloatConv(comfyjson.Plain(v))
		if exc != nil {
			return &MalformedError{Reason: "number: " + exc.Type + ": " + exc.Message}
		}
		b.Number = &f
		return nil
	}
	if v, ok := t.Get("front"); ok {
		b.Front = pyTruth(comfyjson.Plain(v))
	}
	return nil
}

func (b *PromptBody) decodeOptionalFields(t comfyjson.Object) {
	if v, ok := t.Get("prompt_id"); ok {
		b.PromptID, b.HasPromptID = comfyjson.Str(v), true
	}
	if v, ok := t.Get("client_id"); ok {
		b.clientID, b.clientSet = v, true
		b.ClientID, b.HasClientID = v.(string)
	}
	if v, ok := t.Get("extra_data"); ok {
		b.extra, b.extraSet, b.ExtraData = v, true, rawJSON(v)
	}
	if v, ok := t.Get("partial_execution_targets"); ok && v != nil {
		b.partial, b.HasPartialTargets = v, true
	}
}

// promptGraph turns the "prompt" value into a Graph. ComfyUI iterates it
// with `for x in prompt`: an empty list or string gives no nodes (and so
// prompt_no_outputs); other non-objects raise, except a list whose elements
// index into itself, which is reproduced as far as the first node check.
func promptGraph(p any, lim Limits) (Graph, error) {
	switch x := p.(type) {
	case comfyjson.Object:
		return graphFromTree(x, lim, false)
	case string:
		if x == "" {
			return Graph{}, nil
		}
		return nil, &MalformedError{Reason: "prompt is a string"}
	case []any:
		return listPrompt(x)
	}
	return nil, &MalformedError{Reason: "prompt is " + kindName(p) + ", not an object"}
}

func listPrompt(p []any) (Graph, error) {
	if len(p) == 0 {
		return Graph{}, nil
	}
	first := p[0]
	idx, ok := pyIndex(first, len(p))
	if !ok {
		return nil, &MalformedError{Reason: "prompt is a list"}
	}
	n, err := nodeFromTree("", p[idx], false)
	if err != nil || n.q == nil || !n.q.noClassType || n.q.crash {
		return nil, &MalformedError{Reason: "prompt is a list"}
	}
	return nil, invalidPromptError(comfy.ErrorInfo{
		Type:    "invalid_prompt",
		Message: "Cannot execute because a node is missing the class_type property.",
		Details: "Node ID '#" + comfyjson.Str(first) + "'", ExtraInfo: map[string]any{},
	})
}

// pyIndex reports whether v (an int or bool) indexes a Python list of n.
func pyIndex(v any, n int) (int, bool) {
	var i int
	switch x := v.(type) {
	case bool:
		if x {
			i = 1
		}
	case json.Number:
		n, err := strconv.Atoi(string(x))
		if err != nil {
			return 0, false
		}
		i = n
	default:
		return 0, false
	}
	if i < 0 {
		i += n
	}
	return i, i >= 0 && i < n
}

func invalidPromptError(info comfy.ErrorInfo) *comfy.PromptError {
	return &comfy.PromptError{Status: 400, Info: info, NodeErrors: map[string]comfy.NodeError{}}
}

// ExtraDataWithClientID returns the extra_data ComfyUI stores with the
// prompt: "extra_data" (or {}), with "client_id" set to the body's
// client_id when there is one (replaced in place if already present).
func (b *PromptBody) ExtraDataWithClientID() json.RawMessage {
	if !b.extraSet && !b.clientSet {
		return json.RawMessage("{}")
	}
	if !b.clientSet {
		return b.ExtraData
	}
	extra, _ := b.extra.(comfyjson.Object)
	obj := slices.Clone(extra)
	obj.Set("client_id", b.clientID)
	return rawJSON(obj)
}

// ValidateOptions returns options that select the body's
// partial_execution_targets exactly as ComfyUI's `x in targets` does (list
// membership, dict keys, substrings of a string, and a crash for numbers).
func (b *PromptBody) ValidateOptions(inputFileExists func(name string) bool) ValidateOptions {
	opts := ValidateOptions{InputFileExists: inputFileExists}
	if b.partial == nil {
		return opts
	}
	opts.targets = b.partial
	opts.PartialTargets = []string{}
	switch x := b.partial.(type) {
	case []any:
		for _, e := range x {
			if s, ok := e.(string); ok {
				opts.PartialTargets = append(opts.PartialTargets, s)
			}
		}
	case comfyjson.Object:
		opts.PartialTargets = append(opts.PartialTargets, x.Keys()...)
	}
	return opts
}
