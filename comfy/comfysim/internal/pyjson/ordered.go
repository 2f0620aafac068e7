package pyjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Member is one key/value pair of an Obj.
type Member struct {
	Key   string
	Value any
}

// Obj is a JSON object that keeps key order, like a Python dict. Decode
// produces it for every object; values inside are Obj, []any, string,
// json.Number (as written), bool or nil.
type Obj []Member

// Get returns the value stored under key.
func (o Obj) Get(key string) (any, bool) {
	for _, m := range o {
		if m.Key == key {
			return m.Value, true
		}
	}
	return nil, false
}

// Has reports whether key is present.
func (o Obj) Has(key string) bool {
	_, ok := o.Get(key)
	return ok
}

// Set replaces the value of key in place, or appends it, which is what
// assigning to a Python dict does.
func (o *Obj) Set(key string, v any) {
	for i := range *o {
		if (*o)[i].Key == key {
			(*o)[i].Value = v
			return
		}
	}
	*o = append(*o, Member{Key: key, Value: v})
}

// Delete removes key if present.
func (o *Obj) Delete(key string) {
	for i := range *o {
		if (*o)[i].Key == key {
			*o = append((*o)[:i:i], (*o)[i+1:]...)
			return
		}
	}
}

// Keys lists the keys in order.
func (o Obj) Keys() []string {
	keys := make([]string, len(o))
	for i, m := range o {
		keys[i] = m.Key
	}
	return keys
}

// MarshalJSON implements json.Marshaler, keeping the order. Numbers are
// normalised to Python's form.
func (o Obj) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, err := marshalCompact(m.Key)
		if err != nil {
			return nil, err
		}
		buf.Write(k)
		buf.WriteByte(':')
		v, err := marshalCompact(normalizeValue(m.Value))
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", m.Key, err)
		}
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

func marshalCompact(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// normalizeValue rewrites json.Number literals (also inside plain slices) into
// Python's form so that a decoded-then-encoded value looks like json.dumps of
// json.loads.
func normalizeValue(v any) any {
	switch x := v.(type) {
	case json.Number:
		return Number(string(x))
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalizeValue(e)
		}
		return out
	default:
		return v
	}
}

// Normalize returns v with every json.Number in Python's form, recursing into
// plain slices (Obj values are normalised when encoded).
func Normalize(v any) any { return normalizeValue(v) }

// ErrTrailingData is returned by Decode when data holds more than one value.
var ErrTrailingData = errors.New("pyjson: trailing data after JSON value")

// MaxDepth is the deepest nesting Decode accepts. Python's json module
// gives up with RecursionError about this deep (an unhandled exception in
// ComfyUI's handlers, so a 500); unbounded, a 100 MB body of "[" would
// grow a goroutine's stack past Go's limit, which kills the process.
const MaxDepth = 1000

// ErrTooDeep is returned by Decode for nesting beyond MaxDepth.
var ErrTooDeep = errors.New("pyjson: maximum recursion depth exceeded")

// Decode parses one JSON value keeping object order (see Obj). Duplicate keys
// keep the first position and the last value, as json.loads does.
func Decode(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, ErrTrailingData
	}
	return v, nil
}

func decodeValue(dec *json.Decoder, depth int) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("pyjson: %w", err)
	}
	switch t := tok.(type) {
	case json.Delim:
		if depth >= MaxDepth {
			return nil, ErrTooDeep
		}
		switch t {
		case '{':
			return decodeObject(dec, depth+1)
		case '[':
			return decodeArray(dec, depth+1)
		}
		return nil, fmt.Errorf("pyjson: unexpected %v", t)
	default:
		return t, nil
	}
}

func decodeObject(dec *json.Decoder, depth int) (Obj, error) {
	obj := Obj{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("pyjson: %w", err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("pyjson: object key is %T", tok)
		}
		v, err := decodeValue(dec, depth)
		if err != nil {
			return nil, err
		}
		obj.Set(key, v)
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("pyjson: %w", err)
	}
	return obj, nil
}

func decodeArray(dec *json.Decoder, depth int) ([]any, error) {
	arr := []any{}
	for dec.More() {
		v, err := decodeValue(dec, depth)
		if err != nil {
			return nil, err
		}
		arr = append(arr, v)
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("pyjson: %w", err)
	}
	return arr, nil
}

// Clone deep-copies a decoded value so that callers can change it without
// touching the original (Python's copy.deepcopy of queue items).
func Clone(v any) any {
	switch x := v.(type) {
	case Obj:
		out := make(Obj, len(x))
		for i, m := range x {
			out[i] = Member{Key: m.Key, Value: Clone(m.Value)}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Clone(e)
		}
		return out
	default:
		return v
	}
}
