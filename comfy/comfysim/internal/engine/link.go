package engine

import (
	"encoding/json"
	"math"
	"math/big"
	"strconv"

	"github.com/comfygate/comfygate/comfy/comfyjson"
	"github.com/comfygate/comfygate/comfy/comfysim/internal/nodes"
)

// outSlot is the second element of a link as Python holds it. ComfyUI's
// is_link takes any int or float there (a bool is an int), and validation
// only checks the slots of declared inputs against RETURN_TYPES, so a run
// can meet negative, huge and float slots; index reproduces what
// get_input_data then does with each.
type outSlot struct {
	float bool
	f     float64 // the value of a float slot
	i     int64   // the value of an int slot that fits int64
	huge  int     // -1 or +1 for an int slot beyond int64, else 0
}

// asLink is comfy_execution.graph_utils.is_link on a decoded graph value:
// a two-element list of a string id and a number.
func asLink(v any) (string, outSlot, bool) {
	l, ok := v.([]any)
	if !ok || len(l) != 2 {
		return "", outSlot{}, false
	}
	id, ok := l[0].(string)
	if !ok {
		return "", outSlot{}, false
	}
	s, ok := slotOf(l[1])
	return id, s, ok
}

func slotOf(v any) (outSlot, bool) {
	switch x := v.(type) {
	case bool:
		if x {
			return outSlot{i: 1}, true
		}
		return outSlot{}, true
	case int:
		return outSlot{i: int64(x)}, true
	case int64:
		return outSlot{i: x}, true
	case float64:
		return outSlot{float: true, f: x}, true
	case json.Number:
		return numberSlot(string(x)), true
	}
	return outSlot{}, false
}

func numberSlot(lit string) outSlot {
	if comfyjson.IsFloatLiteral(lit) {
		f, _ := strconv.ParseFloat(lit, 64) // out of range gives ±Inf, as Python's float()
		return outSlot{float: true, f: f}
	}
	n, ok := new(big.Int).SetString(lit, 10)
	switch {
	case !ok:
		return outSlot{float: true, f: math.NaN()} // not a JSON number: never an index
	case n.IsInt64():
		return outSlot{i: n.Int64()}
	case n.Sign() < 0:
		return outSlot{huge: -1}
	}
	return outSlot{huge: 1}
}

// index is get_input_data's
//
//	if output_index >= len(cached_output): mark_missing()
//	obj = cached_output[output_index]
//
// for a node output list of length n: the list index to read, missing
// (the input becomes None), or the exception Python raises.
func (s outSlot) index(n int) (i int, missing bool, exc *nodes.Exception) {
	switch {
	case s.float:
		if s.f >= float64(n) { // false for NaN, which Python then tries as an index
			return 0, true, nil
		}
		return 0, false, &nodes.Exception{Type: "TypeError", Message: "list indices must be integers or slices, not float"}
	case s.huge > 0:
		return 0, true, nil
	case s.huge < 0:
		return 0, false, &nodes.Exception{Type: "IndexError", Message: "cannot fit 'int' into an index-sized integer"}
	case s.i >= int64(n):
		return 0, true, nil
	case s.i >= 0:
		return int(s.i), false, nil
	case s.i >= -int64(n):
		return n + int(s.i), false, nil // Python's negative index
	}
	return 0, false, &nodes.Exception{Type: "IndexError", Message: "list index out of range"}
}

// key is the slot in a cache signature. Python compares 1, 1.0 and True
// as equal, so they share a key.
func (s outSlot) key() string {
	switch {
	case s.huge != 0:
		return "huge" + strconv.Itoa(s.huge)
	case !s.float:
		return strconv.FormatInt(s.i, 10)
	case s.f == math.Trunc(s.f) && math.Abs(s.f) < 1<<63:
		return strconv.FormatInt(int64(s.f), 10)
	}
	return comfyjson.FloatRepr(s.f)
}

// inputFrames is the traceback of an exception raised by get_input_data
// itself, before the node runs (Python 3.11 format).
func inputFrames() []string {
	const file = "<COMFYUI_DIR>/execution.py"
	call := "input_data_all, missing_keys, hidden_inputs = get_input_data(inputs, class_def, unique_id, caches.outputs, dynprompt, extra_data)"
	expr := call[len("input_data_all, missing_keys, hidden_inputs = "):]
	return []string{
		nodes.Frame(file, 449, "execute", call, expr),
		// A subscript gets "~" under the value and "^" under the index.
		"  File \"" + file + "\", line 166, in get_input_data\n" +
			"    obj = cached_output[output_index]\n" +
			"          ~~~~~~~~~~~~~^^^^^^^^^^^^^^\n",
	}
}
