package comfyjson

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
)

// ComfyUI's handlers apply Python operators to whatever JSON a client sent.
// These reproduce the outcomes clients observe, including the exceptions
// that become plain-text 500s, over decoded values: nil, bool, string,
// json.Number, []any, and objects as Object or map[string]any.

// ErrTypeError stands for the TypeError or AttributeError Python raises
// when an operator does not apply to a value (`"k" in 5`, `[].get("k")`).
var ErrTypeError = errors.New("python type error")

// Contains is `key in v`: membership in a list, a substring of a string,
// a key of a dict; ErrTypeError for anything else.
func Contains(v any, key string) (bool, error) {
	switch x := v.(type) {
	case []any:
		return slices.Contains(x, any(key)), nil // only a string equal to key matches
	case string:
		return strings.Contains(x, key), nil
	}
	_, found, err := DictGet(v, key)
	return found, err
}

// Get is `v[key]` on a dict (nil when absent: the caller raises its own
// KeyError), or the TypeError a list or a string raises.
func Get(v any, key string) (any, error) {
	val, _, err := DictGet(v, key)
	return val, err
}

// DictGet is `v.get(key)`: the value and whether it is there, or the
// AttributeError anything but a dict raises.
func DictGet(v any, key string) (any, bool, error) {
	switch x := v.(type) {
	case Object:
		val, found := x.Get(key)
		return val, found, nil
	case map[string]any:
		val, found := x[key]
		return val, found, nil
	}
	return nil, false, ErrTypeError
}

// Truthy is Python's bool() of a decoded value.
func Truthy(v any) bool {
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
	case Object:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

// Iter is `for x in v`: list elements, dict keys, string characters;
// ErrTypeError for numbers, bools and null.
func Iter(v any) ([]any, error) {
	switch x := v.(type) {
	case []any:
		return x, nil
	case Object:
		out := make([]any, len(x))
		for i, m := range x {
			out[i] = m.Key
		}
		return out, nil
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
	return nil, ErrTypeError
}
