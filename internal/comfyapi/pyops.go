package comfyapi

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// ComfyUI's handlers apply Python operators to whatever JSON a client sent;
// these reproduce the outcomes clients observe (including the exceptions
// that become plain-text 500s) over values from decodeJSON.

// errPyType stands for a TypeError or AttributeError raised by a handler.
var errPyType = errors.New("python type error")

// pyContains is `key in v`.
func pyContains(v any, key string) (bool, error) {
	switch x := v.(type) {
	case map[string]any:
		_, ok := x[key]
		return ok, nil
	case []any:
		for _, e := range x {
			if s, ok := e.(string); ok && s == key {
				return true, nil
			}
		}
		return false, nil
	case string:
		return strings.Contains(x, key), nil
	}
	return false, errPyType
}

// pyGet is `v[key]` for a dict, or the TypeError a list or string raises.
func pyGet(v any, key string) (any, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, errPyType
	}
	return obj[key], nil
}

// pyDictGet is `v.get(key)`: an AttributeError for anything but a dict.
func pyDictGet(v any, key string) (any, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, errPyType
	}
	return obj[key], nil
}

// truthy is Python's bool() of a JSON value.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		return err != nil || f != 0
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

// pyIter is `for x in v`: list elements, dict keys, string characters; a
// TypeError for numbers, bools and null.
func pyIter(v any) ([]any, error) {
	switch x := v.(type) {
	case []any:
		return x, nil
	case map[string]any:
		out := make([]any, 0, len(x))
		for k := range x {
			out = append(out, k)
		}
		return out, nil
	case string:
		var out []any
		for _, r := range x {
			out = append(out, string(r))
		}
		return out, nil
	}
	return nil, errPyType
}

// pyInt is int() of a query string: surrounding whitespace, a sign and
// underscores between digits are accepted.
func pyInt(s string) (int, bool) {
	s = strings.TrimFunc(s, unicode.IsSpace)
	if s == "" || strings.HasPrefix(s, "_") || strings.HasSuffix(s, "_") || strings.Contains(s, "__") {
		return 0, false
	}
	clean := strings.ReplaceAll(s, "_", "")
	if strings.ContainsAny(clean[1:], "+-") {
		return 0, false
	}
	n, err := strconv.Atoi(clean)
	return n, err == nil
}

// floatRepr is Python's repr() of a float, as json.dumps writes it: the
// shortest round-tripping digits, ".0" on integral values, and exponent
// notation only outside 1e-4 <= |f| < 1e16. ok is false for NaN and the
// infinities, which JSON cannot carry.
func floatRepr(f float64) (string, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", false
	}
	abs := math.Abs(f)
	if abs != 0 && (abs < 1e-4 || abs >= 1e16) {
		return strconv.FormatFloat(f, 'e', -1, 64), true // "1e+16", "1e-05", as Python
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s, true
}
