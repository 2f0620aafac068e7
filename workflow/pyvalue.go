package workflow

import (
	"encoding/json"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// This file models the few Python value semantics that ComfyUI's validation
// exposes in its answers: which JSON values are ints, floats, strings and so
// on, equality, ordering and truthiness. Values are the decoded JSON values of
// a Graph (nil, bool, json.Number, string, []any, map[string]any) plus the Go
// numbers a caller may put into a graph by hand.

type pyKind uint8

const (
	pyNone pyKind = iota
	pyBool
	pyInt
	pyFloat
	pyStrK
	pyList
	pyDict
	pyOther
)

// kindOf classifies v as Python's json module would have decoded it: a JSON
// number is an int unless it has a fraction or an exponent.
func kindOf(v any) pyKind {
	switch x := v.(type) {
	case nil:
		return pyNone
	case bool:
		return pyBool
	case json.Number:
		if isIntLiteral(string(x)) {
			return pyInt
		}
		return pyFloat
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, *big.Int:
		return pyInt
	case float32, float64:
		return pyFloat
	case string:
		return pyStrK
	case []any:
		return pyList
	case map[string]any:
		return pyDict
	}
	return pyOther
}

func isIntLiteral(s string) bool {
	return s != "" && !strings.ContainsAny(s, ".eE") && s != "NaN" && !strings.Contains(s, "Inf")
}

// pyTypeName is type(v).__name__.
func pyTypeName(v any) string {
	switch kindOf(v) {
	case pyNone:
		return "NoneType"
	case pyBool:
		return "bool"
	case pyInt:
		return "int"
	case pyFloat:
		return "float"
	case pyStrK:
		return "str"
	case pyList:
		return "list"
	case pyDict:
		return "dict"
	}
	return "object"
}

// bigIntOf returns the integer value of an int or bool value.
func bigIntOf(v any) (*big.Int, bool) {
	switch x := v.(type) {
	case bool:
		if x {
			return big.NewInt(1), true
		}
		return big.NewInt(0), true
	case json.Number:
		if !isIntLiteral(string(x)) {
			return nil, false
		}
		n, ok := new(big.Int).SetString(string(x), 10)
		return n, ok
	case *big.Int:
		return new(big.Int).Set(x), true
	case int:
		return big.NewInt(int64(x)), true
	case int8:
		return big.NewInt(int64(x)), true
	case int16:
		return big.NewInt(int64(x)), true
	case int32:
		return big.NewInt(int64(x)), true
	case int64:
		return big.NewInt(x), true
	case uint:
		return new(big.Int).SetUint64(uint64(x)), true
	case uint8:
		return new(big.Int).SetUint64(uint64(x)), true
	case uint16:
		return new(big.Int).SetUint64(uint64(x)), true
	case uint32:
		return new(big.Int).SetUint64(uint64(x)), true
	case uint64:
		return new(big.Int).SetUint64(x), true
	}
	return nil, false
}

// floatOf returns the value of a float value. JSON literals beyond float64
// range become ±Inf (as in Python's json module).
func floatOf(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		if isIntLiteral(string(x)) {
			return 0, false
		}
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil && !isRangeErr(err) {
			return 0, false
		}
		return f, true
	case float64:
		return x, true
	case float32:
		return float64(x), true
	}
	return 0, false
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// numberOf returns a numeric value (int, float or bool) as an exact big.Float;
// nan reports a float NaN.
func numberOf(v any) (f *big.Float, nan, ok bool) {
	if n, ok := bigIntOf(v); ok {
		return new(big.Float).SetPrec(uint(max(n.BitLen(), 64))).SetInt(n), false, true
	}
	if x, ok := floatOf(v); ok {
		if math.IsNaN(x) {
			return nil, true, true
		}
		return new(big.Float).SetFloat64(x), false, true
	}
	return nil, false, false
}

// pyTruth is bool(v).
func pyTruth(v any) bool {
	switch kindOf(v) {
	case pyNone:
		return false
	case pyBool:
		return v.(bool)
	case pyInt:
		n, _ := bigIntOf(v)
		return n.Sign() != 0
	case pyFloat:
		f, _ := floatOf(v)
		return f != 0
	case pyStrK:
		return v.(string) != ""
	case pyList:
		return len(v.([]any)) > 0
	case pyDict:
		return len(v.(map[string]any)) > 0
	}
	return true
}

// pyEqual is a == b.
func pyEqual(a, b any) bool {
	ka, kb := kindOf(a), kindOf(b)
	if isNumeric(ka) && isNumeric(kb) {
		fa, nanA, _ := numberOf(a)
		fb, nanB, _ := numberOf(b)
		if nanA || nanB {
			return false
		}
		return fa.Cmp(fb) == 0
	}
	if ka != kb {
		return false
	}
	switch ka {
	case pyNone:
		return true
	case pyStrK:
		return a.(string) == b.(string)
	case pyList:
		la, lb := a.([]any), b.([]any)
		if len(la) != len(lb) {
			return false
		}
		for i := range la {
			if !pyEqual(la[i], lb[i]) {
				return false
			}
		}
		return true
	case pyDict:
		da, db := a.(map[string]any), b.(map[string]any)
		if len(da) != len(db) {
			return false
		}
		for k, va := range da {
			vb, ok := db[k]
			if !ok || !pyEqual(va, vb) {
				return false
			}
		}
		return true
	}
	return false
}

func isNumeric(k pyKind) bool { return k == pyBool || k == pyInt || k == pyFloat }

// pyLess is a < b, with Python's TypeError for unorderable operands. op is the
// operator named in that error.
func pyLess(a, b any, op string) (bool, *pyExc) {
	ka, kb := kindOf(a), kindOf(b)
	switch {
	case isNumeric(ka) && isNumeric(kb):
		fa, nanA, _ := numberOf(a)
		fb, nanB, _ := numberOf(b)
		if nanA || nanB {
			return false, nil
		}
		return fa.Cmp(fb) < 0, nil
	case ka == pyStrK && kb == pyStrK:
		return a.(string) < b.(string), nil
	case ka == pyList && kb == pyList:
		return listLess(a.([]any), b.([]any), op)
	}
	return false, &pyExc{Type: "TypeError", Message: "'" + op + "' not supported between instances of '" +
		pyTypeName(a) + "' and '" + pyTypeName(b) + "'"}
}

func listLess(a, b []any, op string) (bool, *pyExc) {
	for i := 0; i < len(a) && i < len(b); i++ {
		if pyEqual(a[i], b[i]) {
			continue
		}
		return pyLess(a[i], b[i], op)
	}
	return len(a) < len(b), nil
}

// PyException is a Python exception as ComfyUI reports it in validation
// errors: the exception class (exception_type), str(exception) (details and
// exception_message), and the traceback below the frame that caught it. A
// custom Validator may return one to fail the way a Python check raises.
type PyException struct {
	Type    string // e.g. "KeyError", "TypeError", "AttributeError"
	Message string
	frames  []tbFrame
}

func (e *PyException) Error() string { return e.Type + ": " + e.Message }

// pyExc is the short internal name.
type pyExc = PyException
