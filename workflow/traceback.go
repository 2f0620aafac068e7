package workflow

import (
	"fmt"
	"strings"
)

// DefaultTracebackRoot stands for ComfyUI's source directory in tracebacks,
// as in the captured traffic.
const DefaultTracebackRoot = "<COMFYUI_DIR>"

// tbFrame is one frame of a Python 3.11 traceback.format_tb entry: file
// relative to the ComfyUI tree, line, function, source line (stripped) and
// the caret line under it ("" when Python prints none because the failing
// expression spans the whole line).
type tbFrame struct {
	file  string
	line  int
	fn    string
	src   string
	caret string
}

func (f tbFrame) render(root string) string {
	s := fmt.Sprintf("  File \"%s/%s\", line %d, in %s\n    %s\n", root, f.file, f.line, f.fn, f.src)
	if f.caret != "" {
		s += "    " + f.caret + "\n"
	}
	return s
}

// frame builds a tbFrame whose carets mark expr inside src: tildes for the
// first tilde characters (the value part of a subscript) and ^ for the rest.
func frame(file string, line int, fn, src, expr string, tilde int) tbFrame {
	f := tbFrame{file: file, line: line, fn: fn, src: src}
	if expr != "" && expr != src {
		at := strings.Index(src, expr)
		f.caret = strings.Repeat(" ", at) + strings.Repeat("~", tilde) + strings.Repeat("^", len(expr)-tilde)
	}
	return f
}

// Frames of ComfyUI 0.3.64 (a125cd84b054) that validation errors show.
var (
	frInnerCall = frame("execution.py", 808, "validate_inputs",
		"r = await validate_inputs(prompt_id, prompt, o_id, validated)",
		"await validate_inputs(prompt_id, prompt, o_id, validated)", 0)
	frOutputCall = frame("execution.py", 1010, "validate_prompt",
		"m = await validate_inputs(prompt_id, prompt, o, validated)",
		"await validate_inputs(prompt_id, prompt, o, validated)", 0)
	frGetInputs = frame("execution.py", 730, "validate_inputs",
		"inputs = prompt[unique_id]['inputs']", "prompt[unique_id]['inputs']", 17)
	frInputIn = frame("execution.py", 757, "validate_inputs",
		"if x not in inputs:", "x not in inputs", 0)
	frInputGet = frame("execution.py", 770, "validate_inputs",
		"val = inputs[x]", "inputs[x]", 6)
	frLinkNode = frame("execution.py", 788, "validate_inputs",
		"o_class_type = prompt[o_id]['class_type']", "prompt[o_id]", 6)
	frLinkSlot = frame("execution.py", 790, "validate_inputs",
		"received_type = r[val[1]]", "r[val[1]]", 1)
	frMin = frame("execution.py", 869, "validate_inputs",
		`if "min" in extra_info and val < extra_info["min"]:`, `val < extra_info["min"]`, 0)
	frMax = frame("execution.py", 882, "validate_inputs",
		`if "max" in extra_info and val > extra_info["max"]:`, `val > extra_info["max"]`, 0)
	frValidatorCall = frame("execution.py", 932, "validate_inputs",
		"ret = await _async_map_node_over_list(prompt_id, unique_id, obj_class, input_filtered, validate_function_name, hidden_inputs=hidden_inputs)",
		"await _async_map_node_over_list(prompt_id, unique_id, obj_class, input_filtered, validate_function_name, hidden_inputs=hidden_inputs)", 0)
	frMapNoInputs = frame("execution.py", 285, "_async_map_node_over_list",
		"await process_inputs({})", "", 0)
	frMapInputs = frame("execution.py", 289, "_async_map_node_over_list",
		"await process_inputs(input_dict, i)", "", 0)
	frProcessInputs = frame("execution.py", 277, "process_inputs",
		"result = f(**inputs)", "f(**inputs)", 0)
	frV3Wrapper = frame("comfy_api/internal/__init__.py", 149, "wrapped_func",
		"return method(locked_class, **inputs)", "method(locked_class, **inputs)", 0)
	frExistsAnnotated = frame("folder_paths.py", 205, "exists_annotated_filepath",
		"name, base_dir = annotated_filepath(name)", "annotated_filepath(name)", 0)
	frAnnotated = frame("folder_paths.py", 177, "annotated_filepath",
		`if name.endswith("[output]"):`, "name.endswith", 0)
)

// traceback renders the frames of exc below the catching frame top.
func traceback(root string, top tbFrame, exc *PyException) []any {
	out := []any{top.render(root)}
	for _, f := range exc.frames {
		out = append(out, f.render(root))
	}
	return out
}

func excWithFrames(exc *PyException, frames ...tbFrame) *PyException {
	exc.frames = append(frames, exc.frames...)
	return exc
}
