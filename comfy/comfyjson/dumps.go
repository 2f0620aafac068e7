package comfyjson

import (
	"fmt"
	"unicode/utf8"
)

// Dumps encodes v as Python's json.dumps does with its default settings,
// the way ComfyUI answers every request and WebSocket message: ", " and
// ": " separators, everything outside printable ASCII escaped as \uXXXX,
// \b and \f short escapes, objects in their order (use Object where it
// matters) and every number as Python writes the value (see Number; use
// Float where a Go value is a Python float). It encodes with encoding/json
// (without HTML escaping) and rewrites the result with Pythonize.
func Dumps(v any) ([]byte, error) {
	b, err := Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("comfyjson: %w", err)
	}
	return Pythonize(b), nil
}

// MustDumps is Dumps for values built by the program itself, where an
// encoding failure is a bug.
func MustDumps(v any) []byte {
	b, err := Dumps(v)
	if err != nil {
		panic(err)
	}
	return b
}

// Pythonize rewrites compact, valid JSON into json.dumps layout: a space
// after every ',' and ':' outside strings, every character outside
// printable ASCII escaped, the short escapes Python uses for backspace and
// form feed, and numbers in Python's form.
func Pythonize(compact []byte) []byte {
	out := make([]byte, 0, len(compact)+len(compact)/8+8)
	for i := 0; i < len(compact); {
		c := compact[i]
		switch {
		case c == '"':
			out, i = appendPythonString(out, compact, i)
		case c == ',' || c == ':':
			out = append(out, c, ' ')
			i++
		case c == '-' || c >= '0' && c <= '9':
			out, i = appendNumber(out, compact, i)
		default:
			out = append(out, c)
			i++
		}
	}
	return out
}

// appendNumber copies the number token at compact[i] in Python's form and
// returns the index after it.
func appendNumber(out, compact []byte, i int) ([]byte, int) {
	j, isFloat := i+1, false
	for ; j < len(compact); j++ {
		c := compact[j]
		if c == '.' || c == 'e' || c == 'E' || c == '+' {
			isFloat = true
		} else if (c < '0' || c > '9') && c != '-' {
			break
		}
	}
	tok := compact[i:j]
	if !isFloat && string(tok) != "-0" {
		return append(out, tok...), j // JSON integers are already in Python's form
	}
	return append(out, Number(string(tok))...), j
}

// appendPythonString copies the string token starting at compact[i] (its opening
// quote) with Python's escapes and returns the index after it.
func appendPythonString(out, compact []byte, i int) ([]byte, int) {
	out = append(out, '"')
	for i++; i < len(compact); {
		c := compact[i]
		switch {
		case c == '"':
			return append(out, c), i + 1
		case c == '\\':
			out, i = appendEscape(out, compact, i)
		case c == 0x7f:
			out = append(out, `\u007f`...)
			i++
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			r, size := utf8.DecodeRune(compact[i:])
			out = appendUnicodeEscape(out, r)
			i += size
		}
	}
	return out, i
}

// appendEscape copies the escape sequence starting at compact[i] and
// returns the index after it.
func appendEscape(out, compact []byte, i int) ([]byte, int) {
	if i+1 >= len(compact) {
		return append(out, compact[i:]...), len(compact)
	}
	if compact[i+1] != 'u' || i+6 > len(compact) {
		return append(out, compact[i:i+2]...), i + 2
	}
	switch string(compact[i+2 : i+6]) {
	case "0008":
		out = append(out, '\\', 'b')
	case "000c":
		out = append(out, '\\', 'f')
	default:
		out = append(out, compact[i:i+6]...)
	}
	return out, i + 6
}

func appendUnicodeEscape(out []byte, r rune) []byte {
	if r > 0xFFFF {
		r -= 0x10000
		return fmt.Appendf(out, `\u%04x\u%04x`, 0xD800+(r>>10), 0xDC00+(r&0x3FF))
	}
	return fmt.Appendf(out, `\u%04x`, r)
}
