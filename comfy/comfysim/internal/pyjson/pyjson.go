// Package pyjson writes JSON the way Python's json.dumps does with its default
// settings, and reads JSON keeping object key order.
//
// It exists because ComfyUI answers every request and WebSocket message with
// json.dumps output: ", " and ": " separators, non-ASCII escaped as \uXXXX,
// floats always written with a fraction or exponent ("1.0", "1e+16") and
// objects in insertion order. A simulator that should be byte-compatible with
// ComfyUI (Content-Length, golden files, clients that compare raw text) has to
// reproduce that, and Go's encoding/json does none of it.
package pyjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Marshal encodes v with encoding/json (without HTML escaping) and rewrites the
// result into json.dumps layout. Use Float, Obj and normalised json.Number
// values where the Python type (float vs int) or key order matters.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("pyjson: %w", err)
	}
	return Pythonize(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), nil
}

// MustMarshal is Marshal for values built by this program, where an encoding
// failure is a bug.
func MustMarshal(v any) []byte {
	b, err := Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// Pythonize rewrites compact, valid JSON into json.dumps layout: a space after
// every ',' and ':' outside strings, non-ASCII characters escaped, and the
// short escapes Python uses for backspace and form feed.
func Pythonize(compact []byte) []byte {
	out := make([]byte, 0, len(compact)+len(compact)/8+8)
	inString := false
	for i := 0; i < len(compact); {
		c := compact[i]
		if !inString {
			out = append(out, c)
			switch c {
			case '"':
				inString = true
			case ',', ':':
				out = append(out, ' ')
			}
			i++
			continue
		}
		switch {
		case c == '\\':
			i = appendEscape(&out, compact, i)
		case c == '"':
			out = append(out, c)
			inString = false
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
	return out
}

// appendEscape copies the escape sequence starting at compact[i] and returns
// the index after it.
func appendEscape(out *[]byte, compact []byte, i int) int {
	if i+1 >= len(compact) {
		*out = append(*out, compact[i:]...)
		return len(compact)
	}
	if compact[i+1] == 'u' && i+6 <= len(compact) {
		switch string(compact[i+2 : i+6]) {
		case "0008":
			*out = append(*out, '\\', 'b')
			return i + 6
		case "000c":
			*out = append(*out, '\\', 'f')
			return i + 6
		}
		*out = append(*out, compact[i:i+6]...)
		return i + 6
	}
	*out = append(*out, compact[i:i+2]...)
	return i + 2
}

func appendUnicodeEscape(out []byte, r rune) []byte {
	if r > 0xFFFF {
		r -= 0x10000
		out = fmt.Appendf(out, `\u%04x\u%04x`, 0xD800+(r>>10), 0xDC00+(r&0x3FF))
		return out
	}
	return fmt.Appendf(out, `\u%04x`, r)
}

// Float is a float64 that encodes like Python's repr(float): 1.0, 0.5,
// 1e+16, 1e-05, Infinity, NaN.
type Float float64

// MarshalJSON implements json.Marshaler. Python writes the bare tokens
// Infinity and NaN, which encoding/json refuses to emit; they become 1e999
// (read back as infinity by most parsers) and null.
func (f Float) MarshalJSON() ([]byte, error) {
	return []byte(validToken(FloatRepr(float64(f)))), nil
}

func validToken(s string) string {
	switch s {
	case "Infinity":
		return "1e999"
	case "-Infinity":
		return "-1e999"
	case "NaN":
		return "null"
	}
	return s
}

// FloatRepr formats f as Python's repr(float) and json.dumps do.
func FloatRepr(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	mant, exp := shortestDigits(f)
	neg := strings.HasPrefix(mant, "-")
	mant = strings.TrimPrefix(mant, "-")
	digits := strings.Replace(mant, ".", "", 1)
	// decimal exponent of the first digit
	var s string
	if exp < -4 || exp >= 16 {
		s = digits[:1]
		if len(digits) > 1 {
			s += "." + digits[1:]
		}
		sign := "+"
		if exp < 0 {
			sign = "-"
			exp = -exp
		}
		s += fmt.Sprintf("e%s%02d", sign, exp)
	} else {
		s = positional(digits, exp)
	}
	if neg {
		return "-" + s
	}
	return s
}

// shortestDigits returns the shortest round-tripping mantissa ("1.2345") and
// the decimal exponent of f.
func shortestDigits(f float64) (string, int) {
	e := strconv.FormatFloat(f, 'e', -1, 64)
	i := strings.IndexByte(e, 'e')
	exp, _ := strconv.Atoi(e[i+1:])
	return e[:i], exp
}

func positional(digits string, exp int) string {
	switch {
	case exp < 0:
		return "0." + strings.Repeat("0", -exp-1) + digits
	case exp+1 >= len(digits):
		return digits + strings.Repeat("0", exp+1-len(digits)) + ".0"
	default:
		return digits[:exp+1] + "." + digits[exp+1:]
	}
}

// Number normalises a JSON number literal to what Python would write after
// parsing and re-dumping it: integers stay exact ("-0" becomes "0"), anything
// with a fraction or exponent becomes a float ("1e2" becomes "100.0").
func Number(lit string) json.Number {
	if !strings.ContainsAny(lit, ".eE") {
		return json.Number(normalizeInt(lit))
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		// Out of range: Python gives inf and writes the invalid token
		// Infinity; keep a valid literal that still reads as infinity.
		if strings.HasPrefix(lit, "-") {
			return json.Number("-1e999")
		}
		return json.Number("1e999")
	}
	return json.Number(FloatRepr(f))
}

func normalizeInt(lit string) string {
	neg := strings.HasPrefix(lit, "-")
	d := strings.TrimLeft(strings.TrimPrefix(lit, "-"), "0")
	if d == "" {
		return "0"
	}
	if neg {
		return "-" + d
	}
	return d
}

// IsFloatLiteral reports whether Python parses the JSON number lit as a float.
func IsFloatLiteral(lit string) bool {
	return strings.ContainsAny(lit, ".eE")
}
