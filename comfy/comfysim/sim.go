// Package comfysim is a ComfyUI-compatible server that needs no GPU and no
// Python.
//
// comfygate's tests, and users' CI, run against it instead of a real ComfyUI,
// so it reproduces ComfyUI 0.3.64 as captured on the wire: the same routes
// (each also under /api/), status codes, content types and JSON layout
// (json.dumps style), the same WebSocket messages in the same order with the
// same who-gets-what rules, the same queue priorities and heap order, the
// same history paging, upload naming and /view traversal checks, and the
// same quirks clients depend on. Validation is package workflow's copy of
// ComfyUI's; node execution follows ComfyUI's order and classic cache, with
// real (cheap) image work for model-free nodes and a deterministic
// imitation of the Stable Diffusion nodes.
//
// Faults can be injected at run time (slow steps, failing node classes, a
// hung worker, dropped sockets, a crash, a crash when a node class starts)
// through Server methods or POST /sim/faults, and GET /sim/stats tells
// tests what ran.
package comfysim

import (
	"log/slog"
	"time"
)

// Options configure a Server. The zero value is a working simulator.
type Options struct {
	// Listen is the address the comfygate sim command listens on. Default
	// 127.0.0.1:8188. Serve and Start ignore it.
	Listen string
	// DataDir holds the input, output and temp directories. Default: a new
	// temporary directory, removed by Close.
	DataDir string

	// StepDelay is the time one sampler step takes. Default 0.
	StepDelay time.Duration
	// NodeDelay is the minimum time every executed node takes. Default 0.
	NodeDelay time.Duration
	// ClassDelays override NodeDelay for some node classes (class name →
	// minimum time), to make one node slow, as the captures' ImageBlur was.
	ClassDelays map[string]time.Duration
	// ViewDelay delays every GET /view answer (a slow file server).
	ViewDelay time.Duration
	// PreviewMethod is ComfyUI's --preview-method: "none" (default),
	// "auto", "latent2rgb" or "taesd". Anything but none makes samplers
	// send a preview image with every step.
	PreviewMethod string
	// PreviewSize is ComfyUI's --preview-size. Default 512.
	PreviewSize int
	// FailNode makes every node of this class raise a RuntimeError.
	FailNode string
	// CrashNode makes the server crash (see Server.Crash) when a node of
	// this class starts executing.
	CrashNode string

	// Checkpoints, Loras, VAEs and Embeddings are the model files the
	// simulator pretends to have. A nil list takes workflow/corenodes'
	// DefaultModels (v1-5-pruned-emaonly.safetensors and
	// sd_xl_base_1.0.safetensors, one LCM lora, two VAEs); no embeddings.
	Checkpoints []string
	Loras       []string
	VAEs        []string
	Embeddings  []string

	// ObjectInfo replaces the node definitions (a GET /object_info body).
	// Default: ComfyUI 0.3.64's core nodes from workflow/corenodes.
	ObjectInfo []byte

	// MaxUploadSizeMB is ComfyUI's --max-upload-size (MB): every request
	// body above it gets 413. Default 100.
	MaxUploadSizeMB float64
	// ReadTimeout is how long a client may take to send a request's
	// headers, and the longest a request body may pause. Default 30s.
	ReadTimeout time.Duration
	// MinBodyRate (bytes a second) is the slowest a request body may
	// arrive on average once its first ReadTimeout has passed; a client
	// cut off by either limit gets its connection closed. Default 64 KiB/s
	// (a 100 MB upload may take 26 minutes).
	MinBodyRate int64
	// MaxImageSide and MaxImagePixels bound every image a prompt or upload
	// can make the simulator allocate. Defaults 16384 and 1<<25.
	MaxImageSide   int
	MaxImagePixels int64
	// ImageBudgetMB is the memory (MB) that /view previews and channels
	// and /upload/mask may hold at once to decode and re-encode images.
	// Each reserves its need from the image's header first: one that needs
	// more than the whole budget gets the 500 ComfyUI answers when PIL
	// refuses an image, others wait their turn. Default 128.
	ImageBudgetMB int

	// WSBufferFrames is how many frames may wait for a slow socket before
	// it is closed. Default 4096.
	WSBufferFrames int
	// WSWriteTimeout closes a socket that cannot take one frame in this
	// time. Default 10s.
	WSWriteTimeout time.Duration

	// Argv is what GET /system_stats reports as the command line. Default
	// ComfyUI's own of a CPU install.
	Argv []string
	// Seed fixes the random source of temp-file prefixes; 0 picks one.
	Seed uint64
	// Logger receives the simulator's log. Default: discard. Lines are
	// also kept for GET /internal/logs.
	Logger *slog.Logger
	// Now is the clock for message timestamps. Default time.Now.
	Now func() time.Time
}

const defaultListen = "127.0.0.1:8188"

func (o Options) withDefaults() Options {
	if o.Listen == "" {
		o.Listen = defaultListen
	}
	if o.PreviewMethod == "" {
		o.PreviewMethod = "none"
	}
	if o.PreviewSize <= 0 {
		o.PreviewSize = 512
	}
	if len(o.Argv) == 0 {
		o.Argv = []string{"main.py", "--cpu", "--listen", "127.0.0.1", "--port", "8188"}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

func (o Options) readTimeout() time.Duration {
	if o.ReadTimeout <= 0 {
		return 30 * time.Second
	}
	return o.ReadTimeout
}

func (o Options) minBodyRate() int64 {
	if o.MinBodyRate <= 0 {
		return 64 << 10
	}
	return o.MinBodyRate
}

func (o Options) imageBudgetBytes() int64 {
	if o.ImageBudgetMB <= 0 {
		return 128 << 20
	}
	return int64(o.ImageBudgetMB) << 20
}

// maxUploadBytes is client_max_size: round(MB * 1024 * 1024).
func (o Options) maxUploadBytes() int64 {
	mb := o.MaxUploadSizeMB
	if mb <= 0 {
		mb = 100
	}
	return int64(mb*1024*1024 + 0.5)
}
