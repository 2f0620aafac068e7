package workflow

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/comfygate/comfygate/comfy/comfyjson"
)

// maxIntDigits is CPython's default limit for int <-> str conversions.
const maxIntDigits = 4300

// pyIntConv is Python's int(v): truncating floats, parsing strings in base 10.
func pyIntConv(v any) (*big.Int, *pyExc) {
	switch kindOf(v) {
	case pyBool, pyInt:
		n, _ := bigIntOf(v)
		return n, nil
	case pyFloat:
		f, _ := floatOf(v)
		return truncFloat(f)
	case pyStrK:
		return parsePyInt(v.(string))
	}
	return nil, &pyExc{Type: "TypeError",
		Message: "int() argument must be a string, a bytes-like object or a real number, not '" + pyTypeName(v) + "'"}
}

func truncFloat(f float64) (*big.Int, *pyExc) {
	switch {
	case math.IsNaN(f):
		return nil, &pyExc{Type: "ValueError", Message: "cannot convert float NaN to integer"}
	case math.IsInf(f, 0):
		return nil, &pyExc{Type: "OverflowError", Message: "cannot convert float infinity to integer"}
	}
	n, _ := new(big.Float).SetFloat64(math.Trunc(f)).Int(nil)
	return n, nil
}

func parsePyInt(s string) (*big.Int, *pyExc) {
	bad := func() *pyExc {
		r := comfyjson.ReprString(s)
		if utf8.RuneCountInString(r) > 200 {
			r = string([]rune(r)[:200])
		}
		return &pyExc{Type: "ValueError", Message: "invalid literal for int() with base 10: " + r}
	}
	t := strings.TrimSpace(asciiDigits(s))
	sign := ""
	if t != "" && (t[0] == '+' || t[0] == '-') {
		if t[0] == '-' {
			sign = "-"
		}
		t = t[1:]
	}
	digits, ok := stripUnderscores(t)
	if !ok || digits == "" || strings.Trim(digits, "0123456789") != "" {
		return nil, bad()
	}
	if len(digits) > maxIntDigits {
		return nil, &pyExc{Type: "ValueError", Message: "Exceeds the limit (4300 digits) for integer string conversion: value has " +
			strconv.Itoa(len(digits)) + " digits; use sys.set_int_max_str_digits() to increase the limit"}
	}
	n, _ := new(big.Int).SetString(sign+digits, 10)
	return n, nil
}

// asciiDigits maps Unicode decimal digits to ASCII and Unicode white space to
// a space, as CPython does before parsing numbers; other non-ASCII characters
// become '?' so that they fail.
func asciiDigits(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
			b.WriteRune(r)
		case unicode.IsSpace(r):
			b.WriteByte(' ')
		case unicode.Is(unicode.Nd, r):
			b.WriteByte(byte('0' + digitValue(r)))
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

// digitValue returns the value of a Unicode decimal digit: Nd digits come in
// contiguous runs of ten, each starting at a zero.
func digitValue(r rune) int {
	first := r
	for unicode.Is(unicode.Nd, first-1) {
		first--
	}
	return int((r - first) % 10)
}

// stripUnderscores removes single underscores that sit between two digits
// and reports whether every underscore did.
func stripUnderscores(s string) (string, bool) {
	if !strings.Contains(s, "_") {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' {
			if i == 0 || i == len(s)-1 || !isDigit(s[i-1]) || !isDigit(s[i+1]) {
				return "", false
			}
			continue
		}
		b.WriteByte(c)
	}
	return b.String(), true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// pyFloatConv is Python's float(v).
func pyFloatConv(v any) (float64, *pyExc) {
	switch kindOf(v) {
	case pyBool, pyInt:
		n, _ := bigIntOf(v)
		f, acc := new(big.Float).SetInt(n).Float64()
		if math.IsInf(f, 0) && acc != big.Exact {
			return 0, &pyExc{Type: "OverflowError", Message: "int too large to convert to float"}
		}
		return f, nil
	case pyFloat:
		f, _ := floatOf(v)
		return f, nil
	case pyStrK:
		return parsePyFloat(v.(string))
	}
	return 0, &pyExc{Type: "TypeError",
		Message: "float() argument must be a string or a real number, not '" + pyTypeName(v) + "'"}
}

func parsePyFloat(s string) (float64, *pyExc) {
	bad := &pyExc{Type: "ValueError", Message: "could not convert string to float: " + comfyjson.ReprString(s)}
	t := strings.TrimSpace(asciiDigits(s))
	body := strings.TrimLeft(t, "+-")
	if len(t)-len(body) > 1 {
		return 0, bad
	}
	switch strings.ToLower(body) {
	case "inf", "infinity", "nan":
		f, _ := strconv.ParseFloat(t, 64)
		return f, nil
	}
	digits, ok := stripUnderscores(body)
	if !ok || !isDecimalFloat(digits) {
		return 0, bad
	}
	f, err := strconv.ParseFloat(t[:len(t)-len(body)]+digits, 64)
	if err != nil && !isRangeErr(err) {
		return 0, bad
	}
	return f, nil
}

// isDecimalFloat accepts digits[.digits][e[sign]digits] with at least one
// mantissa digit, which is all Python's float() takes besides inf and nan.
func isDecimalFloat(s string) bool {
	mant, exp, hasExp := strings.Cut(strings.ToLower(s), "e")
	intPart, frac, _ := strings.Cut(mant, ".")
	if intPart+frac == "" || !allDigits(intPart) || !allDigits(frac) {
		return false
	}
	if !hasExp {
		return true
	}
	if exp != "" && (exp[0] == '+' || exp[0] == '-') {
		exp = exp[1:]
	}
	return exp != "" && allDigits(exp)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}
