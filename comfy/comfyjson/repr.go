package comfyjson

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Str is Python's str() of a decoded value: a string as it is, anything
// else as Repr. ComfyUI uses str() for prompt ids ("123", "None", "True")
// and in the details of validation errors.
func Str(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return Repr(v)
}

// Repr is Python's repr() of a decoded value, as ComfyUI prints it in
// error messages and hidden inputs: None, True, 'text', 1, 1.0, inf, [..],
// {'key': ..}. An Object keeps its order; a map[string]any, which has
// none, prints its keys sorted. Go numbers a program put into a value
// print as the Python int or float they stand for.
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
		b.WriteString(ReprString(x))
	case json.Number:
		b.WriteString(reprNumber(string(x)))
	case float64:
		b.WriteString(FloatRepr(x))
	case float32:
		b.WriteString(FloatRepr(float64(x)))
	case Float:
		b.WriteString(FloatRepr(float64(x)))
	case int:
		b.WriteString(strconv.Itoa(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case *big.Int:
		b.WriteString(x.String())
	case []any:
		writeList(b, x)
	case Object:
		writeDict(b, x)
	case map[string]any:
		writeDict(b, sortedObject(x))
	default:
		fmt.Fprint(b, x)
	}
}

// reprNumber prints the int or float json.loads makes of a literal.
func reprNumber(lit string) string {
	i, f, isFloat := numberValue(lit)
	if isFloat {
		return FloatRepr(f)
	}
	return i
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

func writeDict(b *strings.Builder, x Object) {
	b.WriteByte('{')
	for i, m := range x {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(ReprString(m.Key))
		b.WriteString(": ")
		writeRepr(b, m.Value)
	}
	b.WriteByte('}')
}

func sortedObject(m map[string]any) Object {
	o := make(Object, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		o = append(o, Member{Key: k, Value: m[k]})
	}
	return o
}

// ReprString is Python's repr() of a str: single quotes unless the text
// holds a single quote and no double quote, backslash escapes for the
// quote, backslash and \t \n \r, \xXX, \uXXXX or \UXXXXXXXX for characters
// Python does not consider printable.
func ReprString(s string) string {
	quote := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		quote = '"'
	}
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte(quote)
	for _, r := range s {
		writeReprRune(&b, r, quote)
	}
	b.WriteByte(quote)
	return b.String()
}

func writeReprRune(b *strings.Builder, r rune, quote byte) {
	switch {
	case r == rune(quote) || r == '\\':
		b.WriteByte('\\')
		b.WriteRune(r)
	case r == '\t':
		b.WriteString(`\t`)
	case r == '\n':
		b.WriteString(`\n`)
	case r == '\r':
		b.WriteString(`\r`)
	case r < ' ' || r == 0x7f:
		fmt.Fprintf(b, `\x%02x`, r)
	case r < 0x7f || unicode.IsPrint(r):
		b.WriteRune(r)
	case r <= 0xff:
		fmt.Fprintf(b, `\x%02x`, r)
	case r <= 0xffff:
		fmt.Fprintf(b, `\u%04x`, r)
	default:
		fmt.Fprintf(b, `\U%08x`, r)
	}
}
