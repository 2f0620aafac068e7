package comfysim

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"unicode"

	"github.com/comfygate/comfygate/comfy/comfysim/internal/pyjson"
)

// ComfyUI's handlers apply Python operators to whatever JSON a client sent.
// These helpers reproduce the outcomes (including the exceptions that turn
// into plain-text 500s) for decoded JSON values.

// errPyType stands for a TypeError or AttributeError raised by a handler.
var errPyType = errors.New("python type error")

// pyContains is `key in v`.
func pyContains(v any, key string) (bool, error) {
	switch x := v.(type) {
	case pyjson.Obj:
		return x.Has(key), nil
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
	obj, ok := v.(pyjson.Obj)
	if !ok {
		return nil, errPyType
	}
	val, _ := obj.Get(key)
	return val, nil
}

// pyDictGet is `v.get(key)`: an AttributeError for anything but a dict.
func pyDictGet(v any, key string) (any, bool, error) {
	obj, ok := v.(pyjson.Obj)
	if !ok {
		return nil, false, errPyType
	}
	val, found := obj.Get(key)
	return val, found, nil
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
	case pyjson.Obj:
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
	case pyjson.Obj:
		out := make([]any, len(x))
		for i, m := range x {
			out[i] = m.Key
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
