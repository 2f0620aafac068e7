package workflow

import (
	"encoding/json"
	"errors"

	"github.com/comfygate/comfygate/comfy/comfyjson"
)

// Limits bound what the decoders accept from untrusted input. The zero value
// of a field means its default.
type Limits struct {
	// MaxNodes is the most nodes a graph may have (default 10000).
	MaxNodes int
	// MaxStringLen is the longest string value or key in bytes (default 8 MiB).
	MaxStringLen int
	// MaxDepth is the deepest nesting of arrays and objects (default 256).
	MaxDepth int
	// MaxValues is the most JSON values a document may hold (every
	// number, string, literal, array and object; default 524,288). A value
	// takes tens of bytes once decoded, so this bounds the memory of a
	// document of many small values, such as a megabyte of "[0,0,0,…]".
	MaxValues int
}

const (
	defaultMaxNodes     = 10000
	defaultMaxStringLen = 8 << 20
	defaultMaxDepth     = 256
	defaultMaxValues    = 1 << 19
)

// WithDefaults returns l with its zero fields set to the defaults.
func (l Limits) WithDefaults() Limits { return l.withDefaults() }

func (l Limits) withDefaults() Limits {
	if l.MaxNodes <= 0 {
		l.MaxNodes = defaultMaxNodes
	}
	if l.MaxStringLen <= 0 {
		l.MaxStringLen = defaultMaxStringLen
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = defaultMaxDepth
	}
	if l.MaxValues <= 0 {
		l.MaxValues = defaultMaxValues
	}
	return l
}

// LimitError reports input beyond one of the Limits ("nodes", "string
// length", "nesting depth").
type LimitError = comfyjson.LimitError

// parseTree decodes exactly one JSON value as Python's
// json.loads(bytes.decode("utf-8")) does (see comfyjson.Decode): objects
// are comfyjson.Object in document order, numbers json.Number as written.
func parseTree(data []byte, lim Limits) (any, error) {
	lim = lim.withDefaults()
	v, err := comfyjson.DecodeLimits(data, comfyjson.Limits{MaxDepth: lim.MaxDepth, MaxStringLen: lim.MaxStringLen, MaxValues: lim.MaxValues})
	if errors.Is(err, comfyjson.ErrInvalidUTF8) {
		return nil, errors.New("body is not valid UTF-8")
	}
	return v, err
}

// member is v[key] when v is an object.
func member(v any, key string) (any, bool) {
	o, ok := v.(comfyjson.Object)
	if !ok {
		return nil, false
	}
	return o.Get(key)
}

// text is a string's value or a number's literal: what the editor's ids
// and link fields may be.
func text(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return string(x), true
	}
	return "", false
}

// kindName names the JSON type of a decoded value for error messages.
func kindName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case json.Number:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	}
	return "object"
}

// rawJSON re-encodes a decoded value compactly, keys in order, numbers
// exactly as received (strings HTML-escaped, as json.Marshal does).
func rawJSON(v any) json.RawMessage {
	raw, err := json.Marshal(v)
	if err != nil {
		panic("workflow: a decoded value does not encode: " + err.Error())
	}
	return raw
}
