package pyjson

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Str formats a decoded JSON value the way Python's str() does after
// json.loads. ComfyUI uses str() for prompt ids ("123", "None", "True") and for
// the values in execution_error.current_inputs.
func Str(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return Repr(v)
}

// Repr formats a decoded JSON value as Python's repr() would.
func Repr(v any) string {
	var b strings.Builder
	writeRepr(&b, v)
	return b.String()
}

func writeRepr(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("None")
	case bool:
		if x {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case string:
		b.WriteString(reprString(x))
	case json.Number:
		b.WriteString(string(Number(string(x))))
	case float64:
		b.WriteString(FloatRepr(x))
	case Float:
		b.WriteString(FloatRepr(float64(x)))
	case int:
		b.WriteString(strconv.Itoa(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case []any:
		writeList(b, x)
	case Obj:
		writeDict(b, x)
	case map[string]any:
		writeDict(b, sortedObj(x))
	default:
		fmt.Fprint(b, x)
	}
}

func writeList(b *strings.Builder, x []any) {
	b.WriteByte('[')
	for i, e := range x {
		if i > 0 {
			b.WriteString(", ")
		}
		writeRepr(b, e)
	}
	b.WriteByte(']')
}

func writeDict(b *strings.Builder, x Obj) {
	b.WriteByte('{')
	for i, m := range x {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(reprString(m.Key))
		b.WriteString(": ")
		writeRepr(b, m.Value)
	}
	b.WriteByte('}')
}

func sortedObj(m map[string]any) Obj {
	o := make(Obj, 0, len(m))
	for k, v := range m {
		o = append(o, Member{Key: k, Value: v})
	}
	for i := 1; i < len(o); i++ {
		for j := i; j > 0 && o[j].Key < o[j-1].Key; j-- {
			o[j], o[j-1] = o[j-1], o[j]
		}
	}
	return o
}

// reprString quotes s like Python's str.__repr__.
func reprString(s string) string {
	quote := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		quote = '"'
	}
	var b strings.Builder
	b.WriteByte(quote)
	for _, r := range s {
		switch {
		case r == rune(quote) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r < 0x7f || unicode.IsPrint(r):
			b.WriteRune(r)
		case r <= 0xff:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	b.WriteByte(quote)
	return b.String()
}
