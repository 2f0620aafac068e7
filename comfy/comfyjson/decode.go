package comfyjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Limits bound what DecodeLimits accepts from untrusted input. A zero field
// takes its default.
type Limits struct {
	// MaxDepth is the deepest nesting of arrays and objects (default 10000,
	// encoding/json's own bound).
	MaxDepth int
	// MaxStringLen is the longest string or key in bytes (default: no
	// bound beyond the input's length).
	MaxStringLen int
	// MaxValues bounds the values of the document: every number, string,
	// literal, array and object counts one (default: no bound beyond the
	// input's length). Decoded values take tens of bytes each, so a
	// document of small values weighs many times its text: this is what
	// bounds the memory of decoding it.
	MaxValues int
}

const defaultMaxDepth = 10000

// maxIntDigits is CPython's limit for int <-> str conversions, which
// json.loads applies to integer literals.
const maxIntDigits = 4300

// LimitError reports input beyond one of the Limits.
type LimitError struct {
	What  string // "string length", "nesting depth", or a caller's own
	Limit int
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("too large: %s exceeds the limit of %d", e.What, e.Limit)
}

// Errors of the decoder that callers may want to tell apart.
var (
	ErrTrailingData = errors.New("unexpected data after the JSON value")
	ErrInvalidUTF8  = errors.New("JSON text is not valid UTF-8")
	ErrEmpty        = errors.New("empty input")
	ErrTruncated    = errors.New("unexpected end of JSON input")
)

// Decode reads one JSON value as json.loads does: objects keep their key
// order (a repeated key keeps its first position and its last value),
// numbers stay the literal written, the text must be UTF-8 and integers
// may have at most 4300 digits. Unlike json.loads it refuses the NaN and
// Infinity tokens, which are not JSON. Syntax errors are encoding/json's.
func Decode(data []byte) (any, error) { return DecodeLimits(data, Limits{}) }

// DecodeLimits is Decode within explicit limits.
func DecodeLimits(data []byte, lim Limits) (any, error) {
	if !utf8.Valid(data) {
		return nil, ErrInvalidUTF8
	}
	if lim.MaxDepth <= 0 {
		lim.MaxDepth = defaultMaxDepth
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	p := parser{dec: dec, lim: lim}
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, ErrTrailingData
	}
	return v, nil
}

// Loads is Decode with every number replaced by the literal json.dumps
// writes for its value (see Number): once loaded, a Python value no longer
// remembers how it was written.
func Loads(data []byte) (any, error) {
	v, err := Decode(data)
	if err != nil {
		return nil, err
	}
	return pythonNumbers(v), nil
}

func pythonNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		return Number(string(x))
	case Object:
		for i := range x {
			x[i].Value = pythonNumbers(x[i].Value)
		}
	case []any:
		for i := range x {
			x[i] = pythonNumbers(x[i])
		}
	}
	return v
}

type parser struct {
	dec    *json.Decoder
	lim    Limits
	values int
}

func (p *parser) value(depth int) (any, error) {
	if p.values++; p.lim.MaxValues > 0 && p.values > p.lim.MaxValues {
		return nil, &LimitError{What: "number of values", Limit: p.lim.MaxValues}
	}
	tok, err := p.dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) && depth == 0 {
			return nil, ErrEmpty
		}
		return nil, truncated(err)
	}
	switch t := tok.(type) {
	case json.Number:
		if !IsFloatLiteral(string(t)) && len(strings.TrimPrefix(string(t), "-")) > maxIntDigits {
			return nil, fmt.Errorf("integer literal exceeds %d digits", maxIntDigits)
		}
		return t, nil
	case string:
		return t, p.checkLen(t)
	case json.Delim:
		if depth >= p.lim.MaxDepth {
			return nil, &LimitError{What: "nesting depth", Limit: p.lim.MaxDepth}
		}
		if t == '[' {
			return p.array(depth + 1)
		}
		return p.object(depth + 1)
	}
	return tok, nil // nil or bool
}

func (p *parser) checkLen(s string) error {
	if p.lim.MaxStringLen > 0 && len(s) > p.lim.MaxStringLen {
		return &LimitError{What: "string length", Limit: p.lim.MaxStringLen}
	}
	return nil
}

func (p *parser) array(depth int) ([]any, error) {
	arr := []any{}
	for p.dec.More() {
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		arr = append(arr, v)
	}
	_, err := p.dec.Token() // ]
	return arr, truncated(err)
}

func (p *parser) object(depth int) (Object, error) {
	obj := Object{}
	var keys objectIndex
	for p.dec.More() {
		tok, err := p.dec.Token()
		if err != nil {
			return nil, truncated(err)
		}
		key, _ := tok.(string) // the decoder only yields string keys
		if err := p.checkLen(key); err != nil {
			return nil, err
		}
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		keys.set(&obj, key, v)
	}
	_, err := p.dec.Token() // }
	return obj, truncated(err)
}

// objectIndex finds repeated keys while an object is decoded: a scan for
// small objects, a map once there are many members, so that hostile input
// with a million keys costs linear time, not quadratic.
type objectIndex struct {
	pos map[string]int
}

const indexFrom = 32

func (x *objectIndex) set(obj *Object, key string, v any) {
	if x.pos == nil && len(*obj) < indexFrom {
		obj.Set(key, v)
		return
	}
	if x.pos == nil {
		x.pos = make(map[string]int, 2*len(*obj))
		for i, m := range *obj {
			x.pos[m.Key] = i
		}
	}
	if i, ok := x.pos[key]; ok {
		(*obj)[i].Value = v
		return
	}
	x.pos[key] = len(*obj)
	*obj = append(*obj, Member{Key: key, Value: v})
}

// truncated names the end of input inside a value plainly.
func truncated(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return ErrTruncated
	}
	return err
}
