package comfywire

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// ComfyUI's handlers apply Python operators to whatever JSON a client sent.
// These reproduce the outcomes clients observe, including the exceptions
// that become plain-text 500s, over decoded JSON values: nil, bool, string,
// json.Number, []any, and objects as map[string]any or as a Dict.

// ErrPyType stands for a TypeError or AttributeError raised by a handler.
var ErrPyType = errors.New("python type error")

// Dict is a JSON object decoded with its key order kept, as Python's dicts
// keep it.
type Dict interface {
	Get(key string) (any, bool)
	Keys() []string
}

// PyContains is `key in v`.
func PyContains(v any, key string) (bool, error) {
	switch x := v.(type) {
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
	_, found, err := PyDictGet(v, key)
	return found, err
}

// PyGet is `v[key]` for a dict, or the TypeError a list or string raises.
func PyGet(v any, key string) (any, error) {
	val, _, err := PyDictGet(v, key)
	return val, err
}

// PyDictGet is `v.get(key)`: an AttributeError for anything but a dict.
func PyDictGet(v any, key string) (any, bool, error) {
	switch x := v.(type) {
	case map[string]any:
		val, found := x[key]
		return val, found, nil
	case Dict:
		val, found := x.Get(key)
		return val, found, nil
	}
	return nil, false, ErrPyType
}

// Truthy is Python's bool() of a JSON value.
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
	case map[string]any:
		return len(x) > 0
	case Dict:
		return len(x.Keys()) > 0
	}
	return true
}

// PyIter is `for x in v`: list elements, dict keys, string characters; a
// TypeError for numbers, bools and null.
func PyIter(v any) ([]any, error) {
	switch x := v.(type) {
	case []any:
		return x, nil
	case map[string]any:
		out := make([]any, 0, len(x))
		for k := range x {
			out = append(out, k)
		}
		return out, nil
	case Dict:
		keys := x.Keys()
		out := make([]any, len(keys))
		for i, k := range keys {
			out[i] = k
		}
		return out, nil
	case string:
		var out []any
		for _, r := range x {
			out = append(out, string(r))
		}
		return out, nil
	}
	return nil, ErrPyType
}
