package corenodes

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf16"
)

// node is a JSON value that keeps object key order and number text, so the
// embedded definitions can be edited and written back exactly as Python's
// json.dumps wrote them.
type node struct {
	kind byte // 'n' null, 'b' bool, '#' number, 's' string, '[' array, '{' object
	b    bool
	s    string
	arr  []*node
	keys []string
	vals []*node
}

func parse(data []byte) (*node, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	n, err := parseValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("trailing data")
	}
	return n, nil
}

func parseValue(dec *json.Decoder) (*node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case nil:
		return &node{kind: 'n'}, nil
	case bool:
		return &node{kind: 'b', b: t}, nil
	case json.Number:
		return &node{kind: '#', s: string(t)}, nil
	case string:
		return &node{kind: 's', s: t}, nil
	case json.Delim:
		n := &node{kind: byte(t)}
		for dec.More() {
			if t == '{' {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, k.(string))
			}
			e, err := parseValue(dec)
			if err != nil {
				return nil, err
			}
			if t == '{' {
				n.vals = append(n.vals, e)
			} else {
				n.arr = append(n.arr, e)
			}
		}
		_, err := dec.Token()
		return n, err
	}
	return nil, fmt.Errorf("unexpected token %v", tok)
}

func (n *node) get(key string) *node {
	if n == nil || n.kind != '{' {
		return nil
	}
	for i, k := range n.keys {
		if k == key {
			return n.vals[i]
		}
	}
	return nil
}

func strings_(list []string) []*node {
	out := make([]*node, len(list))
	for i, s := range list {
		out[i] = &node{kind: 's', s: s}
	}
	return out
}

// encode writes n as Python's json.dumps does by default: ", " and ": "
// separators and non-ASCII characters escaped.
func (n *node) encode(b *bytes.Buffer) {
	switch n.kind {
	case 'n':
		b.WriteString("null")
	case 'b':
		b.WriteString(strconv.FormatBool(n.b))
	case '#':
		b.WriteString(n.s)
	case 's':
		writePyString(b, n.s)
	case '[':
		b.WriteByte('[')
		for i, e := range n.arr {
			if i > 0 {
				b.WriteString(", ")
			}
			e.encode(b)
		}
		b.WriteByte(']')
	case '{':
		b.WriteByte('{')
		for i, k := range n.keys {
			if i > 0 {
				b.WriteString(", ")
			}
			writePyString(b, k)
			b.WriteString(": ")
			n.vals[i].encode(b)
		}
		b.WriteByte('}')
	}
}

func writePyString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			switch {
			case r < 0x20 || (r > 0x7e && r < 0x10000):
				fmt.Fprintf(b, `\u%04x`, r)
			case r >= 0x10000:
				r1, r2 := utf16.EncodeRune(r)
				fmt.Fprintf(b, `\u%04x\u%04x`, r1, r2)
			default:
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}
