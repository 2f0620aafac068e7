package workflow

import (
	"slices"
	"strings"
)

// Validator is a node class's own input check, ComfyUI's VALIDATE_INPUTS
// (V1 nodes) or validate_inputs (V3 nodes). Besides its verdict it changes
// validation itself: inputs it takes by name (or all inputs, with Kwargs)
// skip the min/max and combo checks, and with InputTypes link types are not
// checked.
type Validator struct {
	// Func is the check's Python qualified name, used in the message of a
	// missing-argument TypeError ("LoadImage.VALIDATE_INPUTS").
	Func string
	// Args are the inputs it takes, without its leading cls argument.
	Args []string
	// Kwargs means it takes **kwargs: every input is handed to it.
	Kwargs bool
	// InputTypes means it takes input_types.
	InputTypes bool
	// V3 marks a V3 node's check, which runs through one more wrapper frame.
	V3 bool
	// Check runs the check on the node's constant inputs among Args (linked
	// inputs arrive as nil). ok=false with message "" is Python's False.
	// A *PyException error is reported as that exception; any other error
	// as a plain Exception.
	Check func(args map[string]any, opts ValidateOptions) (ok bool, message string, err error)
	// frames are the check's own traceback frames above a failing
	// folder_paths call (built-in checks only).
	frames []tbFrame
}

func (v *Validator) takes(input string) bool {
	return v != nil && (v.Kwargs || slices.Contains(v.Args, input))
}

// builtinValidator returns the check of a ComfyUI 0.3.64 core node, or nil.
// All of them are "does this input file exist" checks.
func builtinValidator(class string) *Validator {
	switch class {
	case "LoadImage", "LoadImageOutput":
		return fileValidator("LoadImage.VALIDATE_INPUTS", "image", "image", false,
			frame("nodes.py", 1701, "VALIDATE_INPUTS", "if not folder_paths.exists_annotated_filepath(image):",
				"folder_paths.exists_annotated_filepath(image)", 0))
	case "LoadImageMask":
		return fileValidator("LoadImageMask.VALIDATE_INPUTS", "image", "image", false,
			frame("nodes.py", 1750, "VALIDATE_INPUTS", "if not folder_paths.exists_annotated_filepath(image):",
				"folder_paths.exists_annotated_filepath(image)", 0))
	case "LoadLatent":
		return fileValidator("LoadLatent.VALIDATE_INPUTS", "latent", "latent", false,
			frame("nodes.py", 538, "VALIDATE_INPUTS", "if not folder_paths.exists_annotated_filepath(latent):",
				"folder_paths.exists_annotated_filepath(latent)", 0))
	case "LoadAudio":
		return fileValidator("LoadAudio.VALIDATE_INPUTS", "audio", "audio", false,
			frame("comfy_extras/nodes_audio.py", 347, "VALIDATE_INPUTS", "if not folder_paths.exists_annotated_filepath(audio):",
				"folder_paths.exists_annotated_filepath(audio)", 0))
	case "LoadVideo":
		return fileValidator("LoadVideo.validate_inputs", "file", "video", true,
			frame("comfy_extras/nodes_video.py", 200, "validate_inputs", "if not folder_paths.exists_annotated_filepath(file):",
				"folder_paths.exists_annotated_filepath(file)", 0))
	}
	return nil
}

// fileValidator reproduces `if not folder_paths.exists_annotated_filepath(x):
// return "Invalid <what> file: {}".format(x)`.
func fileValidator(fn, arg, what string, v3 bool, own tbFrame) *Validator {
	v := &Validator{Func: fn, Args: []string{arg}, V3: v3, frames: []tbFrame{own}}
	v.Check = func(args map[string]any, opts ValidateOptions) (bool, string, error) {
		name, ok := args[arg].(string)
		if !ok {
			return false, "", excWithFrames(&PyException{Type: "AttributeError",
				Message: "'" + pyTypeName(args[arg]) + "' object has no attribute 'endswith'"},
				own, frExistsAnnotated, frAnnotated)
		}
		if opts.InputFileExists != nil && !opts.InputFileExists(name) {
			return false, "Invalid " + what + " file: " + name, nil
		}
		return true, "", nil
	}
	return v
}

// SplitAnnotated splits a file name as ComfyUI's annotated_filepath does:
// "x.png [output]" → ("x.png", "output"); names without an annotation give
// dir "" (the input directory). Note that ComfyUI cuts a fixed number of
// characters, so "x.png[output]" gives "x.pn".
func SplitAnnotated(name string) (path, dir string) {
	for _, d := range []string{"output", "input", "temp"} {
		if strings.HasSuffix(name, "["+d+"]") {
			cut := len(d) + 3
			if cut > len(name) {
				return "", d
			}
			return name[:len(name)-cut], d
		}
	}
	return name, ""
}
