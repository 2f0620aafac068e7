package comfyapi

import (
	"math"

	"github.com/comfygate/comfygate/comfy/comfyjson"
)

// ComfyUI's handlers apply Python operators to whatever JSON a client sent;
// comfyjson reproduces the outcomes clients observe (including the
// exceptions that become plain-text 500s) over values from decodeJSON,
// the same way the simulator does. These names keep the handlers short.

// errPyType stands for a TypeError or AttributeError raised by a handler.
var errPyType = comfyjson.ErrTypeError

func pyContains(v any, key string) (bool, error) { return comfyjson.Contains(v, key) }

// pyDictGet is `v.get(key)`: an AttributeError for anything but a dict.
func pyDictGet(v any, key string) (any, error) {
	val, _, err := comfyjson.DictGet(v, key)
	return val, err
}

func truthy(v any) bool { return comfyjson.Truthy(v) }

// floatRepr is a prompt number as ComfyUI shows it: Python's repr() of the
// float. ok is false for NaN and the infinities, which comfygate refuses
// as numbers (Python would write the non-JSON tokens NaN and Infinity).
func floatRepr(f float64) (string, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", false
	}
	return comfyjson.FloatRepr(f), true
}
