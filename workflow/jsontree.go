package workflow

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
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
}

const (
	defaultMaxNodes     = 10000
	defaultMaxStringLen = 8 << 20
	defaultMaxDepth     = 256
)

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
	return l
}

// LimitError reports input beyond one of the Limits.
type LimitError struct {
	What  string // "nodes", "string length", "nesting depth"
	Limit int
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("too large: %s exceeds the limit of %d", e.What, e.Limit)
}

type jkind uint8

const (
	jNull jkind = iota
	jBool
	jNum
	jStr
	jArr
	jObj
)

// jval is a decoded JSON value that remembers object key order, as Python's
// json module does. Duplicate keys keep the first position and the last
// value, like a Python dict built from the pairs.
type jval struct {
	kind jkind
	b    bool
	s    string // string value, or number text
	arr  []*jval
	keys []string
	vals []*jval
}

func (v *jval) get(key string) (*jval, bool) {
	for i, k := range v.keys {
		if k == key {
			return v.vals[i], true
		}
	}
	return nil, false
}

// parseTree decodes exactly one JSON value. It rejects what Python's
// json.loads(bytes.decode("utf-8")) rejects, except that NaN and Infinity
// literals are refused here too.
func parseTree(data []byte, lim Limits) (*jval, error) {
	if !utf8.Valid(data) {
		return nil, errors.New("body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	p := treeParser{dec: dec, lim: lim.withDefaults()}
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("unexpected data after the JSON value")
	}
	return v, nil
}

type treeParser struct {
	dec *json.Decoder
	lim Limits
}

func (p *treeParser) value(depth int) (*jval, error) {
	tok, err := p.dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			if depth == 0 {
				return nil, errors.New("empty input")
			}
			return nil, errors.New("unexpected end of JSON input")
		}
		return nil, truncated(err)
	}
	return p.fromToken(tok, depth)
}

func (p *treeParser) fromToken(tok json.Token, depth int) (*jval, error) {
	switch t := tok.(type) {
	case nil:
		return &jval{kind: jNull}, nil
	case bool:
		return &jval{kind: jBool, b: t}, nil
	case json.Number:
		if isIntLiteral(string(t)) && len(t) > maxIntDigits+1 {
			return nil, errors.New("integer literal exceeds 4300 digits")
		}
		return &jval{kind: jNum, s: string(t)}, nil
	case string:
		if len(t) > p.lim.MaxStringLen {
			return nil, &LimitError{What: "string length", Limit: p.lim.MaxStringLen}
		}
		return &jval{kind: jStr, s: t}, nil
	case json.Delim:
		if depth >= p.lim.MaxDepth {
			return nil, &LimitError{What: "nesting depth", Limit: p.lim.MaxDepth}
		}
		if t == '[' {
			return p.array(depth + 1)
		}
		return p.object(depth + 1)
	}
	return nil, fmt.Errorf("unexpected token %v", tok)
}

func (p *treeParser) array(depth int) (*jval, error) {
	v := &jval{kind: jArr, arr: []*jval{}}
	for p.dec.More() {
		e, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		v.arr = append(v.arr, e)
	}
	_, err := p.dec.Token() // ]
	return v, truncated(err)
}

func (p *treeParser) object(depth int) (*jval, error) {
	v := &jval{kind: jObj, keys: []string{}, vals: []*jval{}}
	for p.dec.More() {
		tok, err := p.dec.Token()
		if err != nil {
			return nil, truncated(err)
		}
		key, _ := tok.(string)
		if len(key) > p.lim.MaxStringLen {
			return nil, &LimitError{What: "string length", Limit: p.lim.MaxStringLen}
		}
		e, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		v.set(key, e)
	}
	_, err := p.dec.Token() // }
	return v, truncated(err)
}

// truncated names the end of input inside a value plainly.
func truncated(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("unexpected end of JSON input")
	}
	return err
}

func (v *jval) set(key string, e *jval) {
	for i, k := range v.keys {
		if k == key {
			v.vals[i] = e
			return
		}
	}
	v.keys = append(v.keys, key)
	v.vals = append(v.vals, e)
}

// toAny converts to the generic form used in graphs: nil, bool, json.Number,
// string, []any, map[string]any.
func (v *jval) toAny() any {
	switch v.kind {
	case jBool:
		return v.b
	case jNum:
		return json.Number(v.s)
	case jStr:
		return v.s
	case jArr:
		out := make([]any, len(v.arr))
		for i, e := range v.arr {
			out[i] = e.toAny()
		}
		return out
	case jObj:
		out := make(map[string]any, len(v.keys))
		for i, k := range v.keys {
			out[k] = v.vals[i].toAny()
		}
		return out
	}
	return nil
}

// raw re-encodes the value, keeping key order.
func (v *jval) raw() json.RawMessage {
	var b bytes.Buffer
	v.encode(&b)
	return b.Bytes()
}

func (v *jval) encode(b *bytes.Buffer) {
	switch v.kind {
	case jNull:
		b.WriteString("null")
	case jBool:
		fmt.Fprint(b, v.b)
	case jNum:
		b.WriteString(v.s)
	case jStr:
		writeJSONString(b, v.s)
	case jArr:
		b.WriteByte('[')
		for i, e := range v.arr {
			if i > 0 {
				b.WriteByte(',')
			}
			e.encode(b)
		}
		b.WriteByte(']')
	case jObj:
		b.WriteByte('{')
		for i, k := range v.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(b, k)
			b.WriteByte(':')
			v.vals[i].encode(b)
		}
		b.WriteByte('}')
	}
}

func writeJSONString(b *bytes.Buffer, s string) {
	enc, _ := json.Marshal(s)
	b.Write(enc)
}

// pyStrTree is str(v) of the decoded value, with dict keys in their original
// order.
func (v *jval) pyStr() string {
	if v.kind == jStr {
		return v.s
	}
	return v.pyRepr()
}

func (v *jval) pyRepr() string {
	switch v.kind {
	case jArr:
		var b bytes.Buffer
		b.WriteByte('[')
		for i, e := range v.arr {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(e.pyRepr())
		}
		b.WriteByte(']')
		return b.String()
	case jObj:
		var b bytes.Buffer
		b.WriteByte('{')
		for i, k := range v.keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(pyQuote(k) + ": " + v.vals[i].pyRepr())
		}
		b.WriteByte('}')
		return b.String()
	}
	return pyRepr(v.toAny())
}
