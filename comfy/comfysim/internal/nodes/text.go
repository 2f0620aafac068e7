package nodes

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"github.com/comfygate/comfygate/comfy/comfyjson"
)

func textNodes() map[string]Def {
	passValue := stateless(func(c *Call) (Result, error) {
		v, ok := c.Inputs["value"]
		if !ok {
			return Result{}, c.missing("value")
		}
		return out(v)
	})
	return map[string]Def{
		"PrimitiveString":          passValue,
		"PrimitiveStringMultiline": passValue,
		"PrimitiveInt":             passValue,
		"PrimitiveFloat":           passValue,
		"PrimitiveBoolean":         passValue,
		"PreviewAny":               stateless(previewAny),
		"StringConcatenate":        stateless(stringConcatenate),
		"StringSubstring":          stateless(stringSubstring),
		"StringLength":             stateless(stringLength),
		"CaseConverter":            stateless(caseConverter),
		"StringTrim":               stateless(stringTrim),
		"StringReplace":            stateless(stringReplace),
		"StringContains":           stateless(stringContains),
		"StringCompare":            stateless(stringCompare),
		"RegexMatch":               stateless(regexMatch),
		"RegexReplace":             stateless(regexReplace),
	}
}

// PyStr is str() of a value flowing between nodes.
func PyStr(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return string(comfyjson.Number(string(x)))
	case fmt.Stringer:
		return x.String()
	}
	return comfyjson.Str(v)
}

func previewAny(c *Call) (Result, error) {
	value := "None"
	switch v := c.Inputs["source"].(type) {
	case nil:
	case string:
		value = v
	case json.Number, bool:
		value = PyStr(v)
	case []any, comfyjson.Object:
		value = string(comfyjson.MustDumps(v))
	default:
		value = PyStr(v)
	}
	return Result{Outputs: []any{}, UI: comfyjson.Object{{Key: "text", Value: []any{value}}}}, nil
}

// strArgs fetches string inputs in order.
func strArgs(c *Call, names ...string) ([]string, error) {
	out := make([]string, len(names))
	for i, n := range names {
		s, err := c.Str(n)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

func stringConcatenate(c *Call) (Result, error) {
	s, err := strArgs(c, "string_a", "string_b", "delimiter")
	if err != nil {
		return Result{}, err
	}
	return out(s[0] + s[2] + s[1])
}

// pySlice is s[start:end] on code points.
func pySlice(s string, start, end int64) string {
	r := []rune(s)
	n := int64(len(r))
	clamp := func(i int64) int64 {
		if i < 0 {
			i += n
		}
		return min(max(i, 0), n)
	}
	a, b := clamp(start), clamp(end)
	if a >= b {
		return ""
	}
	return string(r[a:b])
}

func stringSubstring(c *Call) (Result, error) {
	a := c.args()
	s := a.Str("string")
	start := a.Int("start")
	end := a.Int("end")
	if a.err != nil {
		return Result{}, a.err
	}
	return out(pySlice(s, start, end))
}

func stringLength(c *Call) (Result, error) {
	s, err := c.Str("string")
	if err != nil {
		return Result{}, err
	}
	return out(intNumber(int64(len([]rune(s)))))
}

func caseConverter(c *Call) (Result, error) {
	s, err := strArgs(c, "string", "mode")
	if err != nil {
		return Result{}, err
	}
	switch s[1] {
	case "UPPERCASE":
		return out(strings.ToUpper(s[0]))
	case "lowercase":
		return out(strings.ToLower(s[0]))
	case "Capitalize":
		r := []rune(strings.ToLower(s[0]))
		if len(r) > 0 {
			r[0] = unicode.ToUpper(r[0])
		}
		return out(string(r))
	case "Title Case":
		return out(pyTitle(s[0]))
	}
	return out(s[0])
}

// pyTitle is str.title(): a letter after a non-letter is upper-cased, every
// other letter lower-cased.
func pyTitle(s string) string {
	var b strings.Builder
	prevLetter := false
	for _, r := range s {
		if unicode.IsLetter(r) {
			if prevLetter {
				b.WriteRune(unicode.ToLower(r))
			} else {
				b.WriteRune(unicode.ToUpper(r))
			}
			prevLetter = true
			continue
		}
		b.WriteRune(r)
		prevLetter = false
	}
	return b.String()
}

func stringTrim(c *Call) (Result, error) {
	s, err := strArgs(c, "string", "mode")
	if err != nil {
		return Result{}, err
	}
	switch s[1] {
	case "Both":
		return out(strings.TrimFunc(s[0], unicode.IsSpace))
	case "Left":
		return out(strings.TrimLeftFunc(s[0], unicode.IsSpace))
	case "Right":
		return out(strings.TrimRightFunc(s[0], unicode.IsSpace))
	}
	return out(s[0])
}

func stringReplace(c *Call) (Result, error) {
	s, err := strArgs(c, "string", "find", "replace")
	if err != nil {
		return Result{}, err
	}
	return out(strings.ReplaceAll(s[0], s[1], s[2]))
}

func stringContains(c *Call) (Result, error) {
	s, err := strArgs(c, "string", "substring")
	if err != nil {
		return Result{}, err
	}
	if err := foldCase(c, s); err != nil {
		return Result{}, err
	}
	return out(strings.Contains(s[0], s[1]))
}

// foldCase applies the case_sensitive input of StringContains and
// StringCompare: when it is off, both strings compare lower-cased.
func foldCase(c *Call, s []string) error {
	cs, err := c.BoolOr("case_sensitive", true)
	if err != nil {
		return err
	}
	if !cs {
		s[0], s[1] = strings.ToLower(s[0]), strings.ToLower(s[1])
	}
	return nil
}

func stringCompare(c *Call) (Result, error) {
	s, err := strArgs(c, "string_a", "string_b", "mode")
	if err != nil {
		return Result{}, err
	}
	if err := foldCase(c, s); err != nil {
		return Result{}, err
	}
	switch s[2] {
	case "Equal":
		return out(s[0] == s[1])
	case "Starts With":
		return out(strings.HasPrefix(s[0], s[1]))
	case "Ends With":
		return out(strings.HasSuffix(s[0], s[1]))
	}
	return out(nil)
}

// compileRegex builds a Go regexp with Python re's flags.
func compileRegex(c *Call, pattern string, defaultCI bool) (*regexp.Regexp, error) {
	flags := ""
	for _, f := range []struct {
		name string
		def  bool
		flag string
	}{{"case_insensitive", defaultCI, "i"}, {"multiline", false, "m"}, {"dotall", false, "s"}} {
		on, err := c.BoolOr(f.name, f.def)
		if err != nil {
			return nil, err
		}
		if on {
			flags += f.flag
		}
	}
	if flags != "" {
		pattern = "(?" + flags + ")" + pattern
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, Raise("re.error", "%v", err)
	}
	return re, nil
}

func regexMatch(c *Call) (Result, error) {
	s, err := strArgs(c, "string", "regex_pattern")
	if err != nil {
		return Result{}, err
	}
	re, err := compileRegex(c, s[1], true)
	if err != nil {
		if _, isExc := err.(*Exception); isExc {
			return out(false)
		}
		return Result{}, err
	}
	return out(re.MatchString(s[0]))
}

func regexReplace(c *Call) (Result, error) {
	s, err := strArgs(c, "string", "regex_pattern", "replace")
	if err != nil {
		return Result{}, err
	}
	count, err := c.IntOr("count", 0)
	if err != nil {
		return Result{}, err
	}
	re, err := compileRegex(c, s[1], true)
	if err != nil {
		return Result{}, err
	}
	repl := pyReplacement(s[2])
	if count <= 0 {
		return out(re.ReplaceAllString(s[0], repl))
	}
	n := int64(0)
	res := re.ReplaceAllStringFunc(s[0], func(m string) string {
		n++
		if n > count {
			return m
		}
		return re.ReplaceAllString(m, repl)
	})
	return out(res)
}

// pyReplacement turns Python's \1 group references into Go's ${1}.
func pyReplacement(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' {
			b.WriteString("${" + string(s[i+1]) + "}")
			i++
			continue
		}
		if s[i] == '$' {
			b.WriteString("$$")
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
