package workflow

import (
	"errors"
	"strconv"
	"strings"

	"github.com/comfygate/comfygate/comfy/comfyjson"
)

// checkConstant unwraps {"__value__": x}, converts the value to the
// declared type and checks min, max and classic combo membership, unless
// the node's own validator takes the input.
func (c *nodeCheck) checkConstant(spec *InputSpec, val any) *PyException {
	if m, ok := val.(map[string]any); ok {
		if w, ok := m["__value__"]; ok {
			val = w
			c.n.Inputs[spec.Name] = w
		}
	}
	cv, exc := convert(spec.pyType, val)
	if exc != nil {
		typ := comfyjson.Str(spec.pyType)
		c.fail("invalid_input_type", "Failed to convert an input value to a "+typ+" value",
			spec.Name+", "+comfyjson.Str(val)+", "+exc.Message,
			map[string]any{"input_name": spec.Name, "input_config": spec.config(),
				"received_value": val, "exception_message": exc.Message})
		return nil
	}
	c.n.Inputs[spec.Name] = cv.wire
	if c.fn.takes(spec.Name) {
		return nil
	}
	return c.checkRange(spec, cv)
}

func (c *nodeCheck) checkRange(spec *InputSpec, cv converted) *PyException {
	extra := func() map[string]any {
		return map[string]any{"input_name": spec.Name, "input_config": spec.config(), "received_value": cv.wire}
	}
	if lo, ok := spec.Options["min"]; ok {
		less, exc := pyCompare(cv.val, lo, "<")
		if exc != nil {
			return excWithFrames(exc, frMin)
		}
		if less {
			c.fail("value_smaller_than_min", "Value "+comfyjson.Str(cv.val)+" smaller than min of "+comfyjson.Str(lo), spec.Name, extra())
			return nil
		}
	}
	if hi, ok := spec.Options["max"]; ok {
		more, exc := pyCompare(cv.val, hi, ">")
		if exc != nil {
			return excWithFrames(exc, frMax)
		}
		if more {
			c.fail("value_bigger_than_max", "Value "+comfyjson.Str(cv.val)+" bigger than max of "+comfyjson.Str(hi), spec.Name, extra())
			return nil
		}
	}
	if spec.Classic && !containsPy(spec.Values, cv.val) {
		c.notInList(spec, cv)
	}
	return nil
}

func (c *nodeCheck) notInList(spec *InputSpec, cv converted) {
	var config any = spec.config()
	list := comfyjson.Repr(spec.Values)
	if len(spec.Values) > 20 {
		list, config = "(list of length "+strconv.Itoa(len(spec.Values))+")", nil
	}
	c.fail("value_not_in_list", "Value not in list", spec.Name+": '"+comfyjson.Str(cv.val)+"' not in "+list,
		map[string]any{"input_name": spec.Name, "input_config": config, "received_value": cv.wire})
}

func containsPy(list []any, v any) bool {
	for _, e := range list {
		if pyEqual(e, v) {
			return true
		}
	}
	return false
}

// pyCompare evaluates `a < b` (op "<") or `a > b` (op ">").
func pyCompare(a, b any, op string) (bool, *PyException) {
	if op == ">" {
		r, exc := pyLess(b, a, op)
		if exc != nil {
			exc.Message = "'>' not supported between instances of '" + pyTypeName(a) + "' and '" + pyTypeName(b) + "'"
		}
		return r, exc
	}
	return pyLess(a, b, op)
}

// runValidator calls the node's own check with the inputs it takes, as
// get_input_data hands them over (links as None), and records one
// custom_validation_failed per input when it fails.
func (c *nodeCheck) runValidator() *PyException {
	args, names := c.validatorArgs()
	top := []tbFrame{frValidatorCall, frMapInputs, frProcessInputs}
	if len(args) == 0 {
		top[1] = frMapNoInputs
	}
	if c.fn.V3 {
		top = append(top, frV3Wrapper)
	}
	if missing := missingArgs(c.fn.Args, args); len(missing) > 0 {
		return excWithFrames(&PyException{Type: "TypeError", Message: missingArgsMessage(c.fn.Func, missing)}, top...)
	}
	ok, msg, err := c.fn.Check(args, c.v.opts)
	if err != nil {
		var pe *PyException
		if !errors.As(err, &pe) {
			pe = &PyException{Type: "Exception", Message: err.Error()}
		}
		return excWithFrames(&PyException{Type: pe.Type, Message: pe.Message, frames: pe.frames}, top...)
	}
	if ok {
		return nil
	}
	for _, x := range names {
		details := x
		if msg != "" {
			details += " - " + msg
		}
		c.fail("custom_validation_failed", "Custom validation failed for node", details,
			map[string]any{"input_name": x})
	}
	return nil
}

func (c *nodeCheck) validatorArgs() (map[string]any, []string) {
	args := map[string]any{}
	var names []string
	if c.n.q != nil && c.n.q.inputs != nil {
		return args, nil
	}
	for _, name := range c.n.InputNames() {
		spec, declared := c.cls.Input(name)
		if !c.fn.takes(name) {
			continue
		}
		val := c.n.Inputs[name]
		switch {
		case isLinkValue(val) && !(declared && spec.Flag("rawLink")):
			args[name] = nil
		case declared:
			args[name] = val
		default:
			continue
		}
		names = append(names, name)
	}
	if c.fn.InputTypes {
		args["input_types"] = nil
		names = append(names, "input_types")
	}
	return args, names
}

// isLinkValue is ComfyUI's is_link: [str, int|float] (bools are ints).
func isLinkValue(v any) bool {
	l, ok := v.([]any)
	if !ok || len(l) != 2 {
		return false
	}
	if _, ok := l[0].(string); !ok {
		return false
	}
	k := kindOf(l[1])
	return k == pyInt || k == pyFloat || k == pyBool
}

func missingArgs(want []string, args map[string]any) []string {
	var out []string
	for _, a := range want {
		if _, ok := args[a]; !ok {
			out = append(out, a)
		}
	}
	return out
}

// missingArgsMessage is CPython's "f() missing 2 required positional
// arguments: 'a' and 'b'".
func missingArgsMessage(fn string, missing []string) string {
	q := make([]string, len(missing))
	for i, m := range missing {
		q[i] = "'" + m + "'"
	}
	var list string
	switch len(q) {
	case 1:
		list = q[0]
	case 2:
		list = q[0] + " and " + q[1]
	default:
		list = strings.Join(q[:len(q)-1], ", ") + ", and " + q[len(q)-1]
	}
	noun := "argument"
	if len(q) > 1 {
		noun = "arguments"
	}
	return fn + "() missing " + strconv.Itoa(len(q)) + " required positional " + noun + ": " + list
}
