package comfyjson

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
)

// FloatRepr is Python's repr(f) (and str(f)): the shortest digits that read
// back as f, with ".0" on integral values, in positional notation when the
// decimal exponent is in [-4, 16) and scientific with a two-digit minimum
// exponent otherwise: 1.0, 0.0001, 1e-05, 1e+16, inf, -inf, nan.
func FloatRepr(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // "-1.2345e+06"
	sign := ""
	if e[0] == '-' {
		sign, e = "-", e[1:]
	}
	mant, expStr, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expStr)
	digits := strings.Replace(mant, ".", "", 1)
	if exp < -4 || exp >= 16 {
		return sign + scientific(digits, exp)
	}
	return sign + positional(digits, exp)
}

// scientific writes d.ddde±XX for the digits and the exponent of the first.
func scientific(digits string, exp int) string {
	s := digits[:1]
	if len(digits) > 1 {
		s += "." + digits[1:]
	}
	es := "+"
	if exp < 0 {
		es, exp = "-", -exp
	}
	if exp < 10 {
		es += "0"
	}
	return s + "e" + es + strconv.Itoa(exp)
}

// positional writes the digits with the point after the first exp+1.
func positional(digits string, exp int) string {
	switch {
	case exp < 0:
		return "0." + strings.Repeat("0", -exp-1) + digits
	case exp+1 >= len(digits):
		return digits + strings.Repeat("0", exp+1-len(digits)) + ".0"
	}
	return digits[:exp+1] + "." + digits[exp+1:]
}

// FloatJSON is f as Python's json.dumps writes it: FloatRepr for finite
// values, and the tokens Infinity, -Infinity and NaN, which are not JSON.
func FloatJSON(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nonFiniteTokens.Replace(FloatRepr(f))
	}
	return FloatRepr(f)
}

var nonFiniteTokens = strings.NewReplacer("inf", "Infinity", "nan", "NaN")

// Float is a float64 that encodes as Python's json.dumps writes a float:
// 1.0, 0.5, 1e+16, 1e-05. Python writes the bare tokens Infinity and NaN,
// which encoding/json refuses to emit and most parsers refuse to read;
// they become 1e999 (read back as infinity by most parsers) and null.
type Float float64

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) {
	return []byte(validToken(FloatJSON(float64(f)))), nil
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

// Number is the literal json.dumps writes for the value json.loads reads
// from the JSON number lit: integers stay exact ("-0" becomes "0"),
// anything with a fraction or exponent is a float ("1e2" becomes "100.0",
// "1.50" becomes "1.5"). A float beyond float64's range is infinity to
// Python, written as the valid literal ±1e999 (see Float).
func Number(lit string) json.Number {
	if !IsFloatLiteral(lit) {
		return json.Number(normalizeInt(lit))
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil && !isRangeErr(err) {
		return json.Number(lit)
	}
	return json.Number(validToken(FloatJSON(f)))
}

func normalizeInt(lit string) string {
	neg := strings.HasPrefix(lit, "-")
	d := strings.TrimLeft(strings.TrimPrefix(lit, "-"), "0")
	switch {
	case d == "":
		return "0"
	case neg:
		return "-" + d
	case len(d) == len(lit):
		return lit
	}
	return d
}

// IsFloatLiteral reports whether json.loads reads the JSON number lit as a
// float rather than an int.
func IsFloatLiteral(lit string) bool {
	return strings.ContainsAny(lit, ".eE")
}

// numberValue returns the Python value of a JSON number literal: an int
// (as its exact decimal text) or a float.
func numberValue(lit string) (intText string, f float64, isFloat bool) {
	if !IsFloatLiteral(lit) {
		return normalizeInt(lit), 0, false
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil && !isRangeErr(err) {
		return lit, 0, false
	}
	return "", f, true
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}
