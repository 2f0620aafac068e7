package comfyjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"unicode/utf8"
)

// Marshal is json.Marshal without HTML escaping, compact: what json.dumps
// leaves alone (<, >, &) stays readable. Decoded values (Object, []any,
// map[string]any, strings, json.Number, bools, nil) are written directly,
// numbers as written; other values go through encoding/json.
func Marshal(v any) ([]byte, error) {
	return appendValue(nil, v)
}

// MarshalJSON writes the members in order, compact, with numbers as
// written. Strings are not HTML-escaped here; an outer json.Marshal still
// escapes them, an Encoder with SetEscapeHTML(false) does not.
func (o Object) MarshalJSON() ([]byte, error) {
	return appendObject(nil, o)
}

func appendValue(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		if x {
			return append(b, "true"...), nil
		}
		return append(b, "false"...), nil
	case string:
		return appendJSONString(b, x), nil
	case json.Number:
		if !json.Valid([]byte(x)) || !isNumberStart(x) {
			return nil, fmt.Errorf("json: invalid number literal %q", x)
		}
		return append(b, x...), nil
	case Object:
		return appendObject(b, x)
	case []any:
		return appendList(b, x)
	case map[string]any:
		return appendMap(b, x)
	}
	return appendEncoded(b, v)
}

// isNumberStart rules out the other literals json.Valid accepts.
func isNumberStart(n json.Number) bool {
	return n != "" && (n[0] == '-' || n[0] >= '0' && n[0] <= '9')
}

func appendObject(b []byte, o Object) ([]byte, error) {
	b = append(b, '{')
	for i, m := range o {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(appendJSONString(b, m.Key), ':')
		var err error
		if b, err = appendValue(b, m.Value); err != nil {
			return nil, fmt.Errorf("member %q: %w", m.Key, err)
		}
	}
	return append(b, '}'), nil
}

func appendList(b []byte, l []any) ([]byte, error) {
	if l == nil {
		return append(b, "null"...), nil
	}
	b = append(b, '[')
	for i, e := range l {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendValue(b, e); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}

// appendMap writes the keys sorted, as encoding/json does.
func appendMap(b []byte, m map[string]any) ([]byte, error) {
	if m == nil {
		return append(b, "null"...), nil
	}
	b = append(b, '{')
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(appendJSONString(b, k), ':')
		var err error
		if b, err = appendValue(b, m[k]); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

func appendEncoded(b []byte, v any) ([]byte, error) {
	buf := bytes.NewBuffer(b)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

const hex = "0123456789abcdef"

// appendJSONString quotes s as encoding/json does without HTML escaping:
// short escapes for \b \f \n \r \t, \u00XX for other control characters,
// \u2028 and \u2029 escaped, invalid UTF-8 as \ufffd.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			b = appendASCIIEscape(b, c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			if r == utf8.RuneError {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			}
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func appendASCIIEscape(b []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(b, '\\', c)
	case '\b':
		return append(b, '\\', 'b')
	case '\f':
		return append(b, '\\', 'f')
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	}
	return append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
}
