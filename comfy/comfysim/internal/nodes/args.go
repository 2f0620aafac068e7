package nodes

import (
	"encoding/json"
	"math/big"
	"strconv"

	"github.com/comfygate/comfygate/comfy/comfyjson"
	"github.com/comfygate/comfygate/comfy/comfysim/internal/tensor"
)

// missing is Python's TypeError for a required argument the node did not get.
func (c *Call) missing(name string) *Exception {
	return Raise("TypeError", "%s() missing 1 required positional argument: '%s'", c.Class, name)
}

func (c *Call) wrongType(name, want string, v any) *Exception {
	return Raise("TypeError", "%s: input '%s' must be %s, got %s", c.Class, name, want, comfyjson.Repr(v))
}

// Has reports whether the input is present.
func (c *Call) Has(name string) bool {
	_, ok := c.Inputs[name]
	return ok
}

// Str returns a string input.
func (c *Call) Str(name string) (string, error) {
	v, ok := c.Inputs[name]
	if !ok {
		return "", c.missing(name)
	}
	s, ok := v.(string)
	if !ok {
		return "", c.wrongType(name, "a string", v)
	}
	return s, nil
}

// StrOr returns a string input or def when absent.
func (c *Call) StrOr(name, def string) (string, error) {
	if !c.Has(name) {
		return def, nil
	}
	return c.Str(name)
}

// Int returns an integer input that fits int64.
func (c *Call) Int(name string) (int64, error) {
	v, ok := c.Inputs[name]
	if !ok {
		return 0, c.missing(name)
	}
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i, nil
		}
		if f, err := strconv.ParseFloat(string(x), 64); err == nil && f == float64(int64(f)) {
			return int64(f), nil
		}
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	}
	return 0, c.wrongType(name, "an integer", v)
}

// IntOr returns an integer input or def when absent.
func (c *Call) IntOr(name string, def int64) (int64, error) {
	if !c.Has(name) {
		return def, nil
	}
	return c.Int(name)
}

// BigInt returns an integer input of any size (seeds reach 2^64-1).
func (c *Call) BigInt(name string) (*big.Int, error) {
	v, ok := c.Inputs[name]
	if !ok {
		return nil, c.missing(name)
	}
	if n, isNum := v.(json.Number); isNum {
		if b, ok := new(big.Int).SetString(string(n), 10); ok {
			return b, nil
		}
	}
	return nil, c.wrongType(name, "an integer", v)
}

// Float returns a numeric input.
func (c *Call) Float(name string) (float64, error) {
	v, ok := c.Inputs[name]
	if !ok {
		return 0, c.missing(name)
	}
	if n, isNum := v.(json.Number); isNum {
		if f, err := strconv.ParseFloat(string(n), 64); err == nil {
			return f, nil
		}
	}
	return 0, c.wrongType(name, "a number", v)
}

// FloatOr returns a numeric input or def when absent.
func (c *Call) FloatOr(name string, def float64) (float64, error) {
	if !c.Has(name) {
		return def, nil
	}
	return c.Float(name)
}

// Bool returns a boolean input.
func (c *Call) Bool(name string) (bool, error) {
	v, ok := c.Inputs[name]
	if !ok {
		return false, c.missing(name)
	}
	b, ok := v.(bool)
	if !ok {
		return false, c.wrongType(name, "a boolean", v)
	}
	return b, nil
}

// BoolOr returns a boolean input or def when absent.
func (c *Call) BoolOr(name string, def bool) (bool, error) {
	if !c.Has(name) {
		return def, nil
	}
	return c.Bool(name)
}

// Image returns an IMAGE input.
func (c *Call) Image(name string) (*tensor.Batch, error) {
	return input[*tensor.Batch](c, name, "an IMAGE")
}

// Mask returns a MASK input.
func (c *Call) Mask(name string) (*tensor.Mask, error) {
	return input[*tensor.Mask](c, name, "a MASK")
}

func input[T any](c *Call, name, want string) (T, error) {
	var zero T
	v, ok := c.Inputs[name]
	if !ok {
		return zero, c.missing(name)
	}
	t, ok := v.(T)
	if !ok {
		return zero, c.wrongType(name, want, v)
	}
	return t, nil
}

// args reads a node's inputs in the order Python binds them and keeps the
// first error, so that a node lists its inputs and checks once. After an
// error the reads return zero values, which the node must not use.
type args struct {
	c   *Call
	err error
}

func (c *Call) args() *args { return &args{c: c} }

// arg runs one read unless an earlier one failed.
func arg[T any](a *args, name string, get func(string) (T, error)) T {
	var zero T
	if a.err != nil {
		return zero
	}
	v, err := get(name)
	if err != nil {
		a.err = err
		return zero
	}
	return v
}

func (a *args) Str(name string) string    { return arg(a, name, a.c.Str) }
func (a *args) Int(name string) int64     { return arg(a, name, a.c.Int) }
func (a *args) Float(name string) float64 { return arg(a, name, a.c.Float) }

func (a *args) Image(name string) *tensor.Batch { return arg(a, name, a.c.Image) }

func (a *args) StrOr(name, def string) string {
	return arg(a, name, func(n string) (string, error) { return a.c.StrOr(n, def) })
}

func (a *args) IntOr(name string, def int64) int64 {
	return arg(a, name, func(n string) (int64, error) { return a.c.IntOr(n, def) })
}

func (a *args) FloatOr(name string, def float64) float64 {
	return arg(a, name, func(n string) (float64, error) { return a.c.FloatOr(n, def) })
}

func (a *args) BoolOr(name string, def bool) bool {
	return arg(a, name, func(n string) (bool, error) { return a.c.BoolOr(n, def) })
}

// typedArg is input for an upstream value of type T ("a MODEL").
func typedArg[T any](a *args, name, want string) T {
	return arg(a, name, func(n string) (T, error) { return input[T](a.c, n, want) })
}
