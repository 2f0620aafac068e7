package comfyapi

import (
	"math"
	"strconv"
	"strings"

	"github.com/comfygate/comfygate/internal/comfywire"
)

// ComfyUI's handlers apply Python operators to whatever JSON a client sent;
// comfywire reproduces the outcomes clients observe (including the
// exceptions that become plain-text 500s) over values from decodeJSON,
// the same way the simulator does. These names keep the handlers short.

// errPyType stands for a TypeError or AttributeError raised by a handler.
var errPyType = comfywire.ErrPyType

func pyContains(v any, key string) (bool, error) { return comfywire.PyContains(v, key) }

// pyDictGet is `v.get(key)`: an AttributeError for anything but a dict.
func pyDictGet(v any, key string) (any, error) {
	val, _, err := comfywire.PyDictGet(v, key)
	return val, err
}

func truthy(v any) bool { return comfywire.Truthy(v) }

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
