package workflow

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/comfygate/comfygate/comfy"
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

	clientID *jval
	extra    *jval
	partial  *jval
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
	if t.kind != jObj {
		return nil, nonObjectBody(t)
	}
	b := &PromptBody{}
	if err := b.decodeQueueFields(t); err != nil {
		return nil, err
	}
	prompt, ok := t.get("prompt")
	if !ok {
		return nil, noPromptError()
	}
	b.decodeOptionalFields(t)
	if b.clientID != nil && b.extra != nil && b.extra.kind != jObj {
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
func nonObjectBody(t *jval) error {
	for _, key := range []string{"number", "front", "prompt"} {
		switch t.kind {
		case jArr:
			for _, e := range t.arr {
				if e.kind == jStr && e.s == key {
					return &MalformedError{Reason: "body is an array holding " + strconv.Quote(key)}
				}
			}
		case jStr:
			if strings.Contains(t.s, key) {
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

func (b *PromptBody) decodeQueueFields(t *jval) error {
	if v, ok := t.get("number"); ok {
		f, exc := pyFloatConv(v.toAny())
		if exc != nil {
			return &MalformedError{Reason: "number: " + exc.Type + ": " + exc.Message}
		}
		b.Number = &f
		return nil
	}
	if v, ok := t.get("front"); ok {
		b.Front = pyTruth(v.toAny())
	}
	return nil
}

func (b *PromptBody) decodeOptionalFields(t *jval) {
	if v, ok := t.get("prompt_id"); ok {
		b.PromptID, b.HasPromptID = v.pyStr(), true
	}
	if v, ok := t.get("client_id"); ok {
		b.clientID = v
		if v.kind == jStr {
			b.ClientID, b.HasClientID = v.s, true
		}
	}
	if v, ok := t.get("extra_data"); ok {
		b.extra, b.ExtraData = v, v.raw()
	}
	if v, ok := t.get("partial_execution_targets"); ok && v.kind != jNull {
		b.partial, b.HasPartialTargets = v, true
	}
}

// promptGraph turns the "prompt" value into a Graph. ComfyUI iterates it
// with `for x in prompt`: an empty list or string gives no nodes (and so
// prompt_no_outputs); other non-objects raise, except a list whose elements
// index into itself, which is reproduced as far as the first node check.
func promptGraph(p *jval, lim Limits) (Graph, error) {
	switch p.kind {
	case jObj:
		return graphFromTree(p, lim, false)
	case jStr:
		if p.s == "" {
			return Graph{}, nil
		}
		return nil, &MalformedError{Reason: "prompt is a string"}
	case jArr:
		return listPrompt(p)
	}
	return nil, &MalformedError{Reason: "prompt is " + kindName(p) + ", not an object"}
}

func listPrompt(p *jval) (Graph, error) {
	if len(p.arr) == 0 {
		return Graph{}, nil
	}
	first := p.arr[0]
	idx, ok := pyIndex(first, len(p.arr))
	if !ok {
		return nil, &MalformedError{Reason: "prompt is a list"}
	}
	n, err := nodeFromTree("", p.arr[idx], false)
	if err != nil || n.q == nil || !n.q.noClassType || n.q.crash {
		return nil, &MalformedError{Reason: "prompt is a list"}
	}
	return nil, invalidPromptError(comfy.ErrorInfo{
		Type:    "invalid_prompt",
		Message: "Cannot execute because a node is missing the class_type property.",
		Details: "Node ID '#" + first.pyStr() + "'", ExtraInfo: map[string]any{},
	})
}

// pyIndex reports whether v (an int or bool) indexes a Python list of n.
func pyIndex(v *jval, n int) (int, bool) {
	var i int
	switch v.kind {
	case jBool:
		if v.b {
			i = 1
		}
	case jNum:
		x, err := strconv.Atoi(v.s)
		if err != nil {
			return 0, false
		}
		i = x
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
	if b.extra == nil && b.clientID == nil {
		return json.RawMessage("{}")
	}
	if b.clientID == nil {
		return b.extra.raw()
	}
	obj := &jval{kind: jObj}
	if b.extra != nil {
		obj.keys = append(obj.keys, b.extra.keys...)
		obj.vals = append(obj.vals, b.extra.vals...)
	}
	obj.set("client_id", b.clientID)
	return obj.raw()
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
	switch b.partial.kind {
	case jArr:
		for _, e := range b.partial.arr {
			if e.kind == jStr {
				opts.PartialTargets = append(opts.PartialTargets, e.s)
			}
		}
	case jObj:
		opts.PartialTargets = append(opts.PartialTargets, b.partial.keys...)
	}
	return opts
}
