// Package nodes implements the simulator's node classes: real, cheap image
// work for ComfyUI's model-free nodes and a deterministic imitation of the
// Stable Diffusion nodes, so that a workflow runs end to end without a GPU.
//
// Each class is a Def in the registry (Lookup). The execution engine owns the
// node instances (one per node id and class, like ComfyUI's object cache),
// hands every Run a Call with the node's inputs, and turns errors into
// ComfyUI's execution_error: an *Exception says which Python exception a
// real server would have raised.
package nodes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"math/rand/v2"
	"strings"

	"github.com/comfygate/comfygate/comfy/comfyjson"
	"github.com/comfygate/comfygate/comfy/comfysim/internal/tensor"
)

// Exception is a node failure as ComfyUI reports it: Type is the fully
// qualified Python exception class ("RuntimeError",
// "PIL.UnidentifiedImageError"), Message is str(exception).
type Exception struct {
	Type    string
	Message string
	// Frames are extra traceback lines for the node's own code.
	Frames []string
}

func (e *Exception) Error() string { return e.Type + ": " + e.Message }

// Frame formats one Python 3.11 traceback entry: file (under root), line,
// function, the source line, and carets under expr when expr is part of the
// line (Python prints none when the expression is the whole line).
func Frame(file string, line int, fn, src, expr string) string {
	s := fmt.Sprintf("  File \"%s\", line %d, in %s\n    %s\n", file, line, fn, src)
	if at := strings.Index(src, expr); expr != "" && expr != src && at >= 0 {
		s += "    " + strings.Repeat(" ", at) + strings.Repeat("^", len(expr)) + "\n"
	}
	return s
}

// Raise returns an *Exception.
func Raise(typ, format string, args ...any) *Exception {
	return &Exception{Type: typ, Message: fmt.Sprintf(format, args...)}
}

// ErrInterrupted is returned by Env.Progress (and so by Run) when the prompt
// was interrupted: ComfyUI's InterruptProcessingException.
var ErrInterrupted = errors.New("processing interrupted")

// Preview is a sampler preview or a SaveImageWebsocket frame.
type Preview struct {
	// Format is "JPEG" or "PNG".
	Format string
	Image  image.Image
	// MaxSize scales the image down to fit a square of this size (0: none).
	MaxSize int
}

// Env is what the engine offers a running node.
type Env interface {
	// Context is cancelled when the simulator shuts down.
	Context() context.Context
	// StepWait simulates the compute time of one sampler step (the step
	// delay knob, re-read when knobs change). It returns ErrInterrupted
	// early when the prompt is interrupted (the step would have ended
	// there) and the context's error at shutdown.
	StepWait() error
	Limits() tensor.Limits
	// Dir returns the absolute "input", "output" or "temp" directory.
	Dir(kind string) string
	// Progress reports step value of max (ComfyUI's progress bar hook). It
	// returns ErrInterrupted, before reporting, if the prompt was
	// interrupted.
	Progress(value, max int, preview *Preview) error
	// PreviewMethod is the sampler preview method: "none", "auto",
	// "latent2rgb" or "taesd".
	PreviewMethod() string
	// PreviewSize bounds sampler previews (ComfyUI's --preview-size).
	PreviewSize() int
	// Models lists the files of a model folder ("checkpoints", "loras", ...).
	Models(folder string) []string
	// ProgressText shows text on the node (binary frame type 3, sent to
	// every socket as ComfyUI does).
	ProgressText(text string)
}

// Call is one invocation of a node.
type Call struct {
	Env
	NodeID string
	Class  string
	// Inputs holds constants (string, bool, json.Number, nil, []any,
	// comfyjson.Object) and upstream outputs (*tensor.Batch, *Latent, ...).
	Inputs map[string]any
	// Prompt is the whole prompt (hidden input PROMPT).
	Prompt comfyjson.Object
	// ExtraPNGInfo is extra_data.extra_pnginfo, nil when absent.
	ExtraPNGInfo any
	// Rand is seeded per simulator; nodes that need randomness (temp file
	// prefixes) use it so tests can fix it.
	Rand *rand.Rand
}

// Result is what a node returns: one value per output slot and its UI output
// (nil when it has none).
type Result struct {
	Outputs []any
	UI      comfyjson.Object
}

// Node is an instance of a node class.
type Node interface {
	Run(c *Call) (Result, error)
}

// NodeFunc adapts a function to Node for stateless classes.
type NodeFunc func(c *Call) (Result, error)

// Run implements Node.
func (f NodeFunc) Run(c *Call) (Result, error) { return f(c) }

// Def describes one node class.
type Def struct {
	// New creates an instance; the engine keeps it while the node id and
	// class stay in the most recent prompt.
	New func(c *Call) Node
	// IsChanged is the class's IS_CHANGED: its result becomes part of the
	// cache key. ok=false means "always changed" (NaN or a time stamp).
	IsChanged func(c *Call) (key string, ok bool)
}

func stateless(f NodeFunc) Def {
	return Def{New: func(*Call) Node { return f }}
}

func out(values ...any) (Result, error) { return Result{Outputs: values}, nil }

// Number formats integers the way the rest of the graph carries them.
func intNumber(v int64) json.Number { return json.Number(fmt.Sprint(v)) }
