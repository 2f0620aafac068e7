package engine

import (
	"context"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/comfy/comfyjson"
	"github.com/comfygate/comfygate/comfy/comfysim/internal/tensor"
	"github.com/comfygate/comfygate/workflow"
)

// Emitter delivers what a run sends. to names a socket by client id; nil
// means every socket (ComfyUI's sid=None).
type Emitter interface {
	Event(ev comfy.Event, to *string)
	Binary(frame []byte, to *string)
	// SupportsPreviewMetadata reports whether the socket of to negotiated
	// supports_preview_metadata (false for nil).
	SupportsPreviewMetadata(to *string) bool
}

// Knobs are the simulator settings a run reads as it goes; they may change
// between calls.
type Knobs interface {
	StepDelay() time.Duration
	// NodeDelay is the minimum time a node of class takes.
	NodeDelay(class string) time.Duration
	FailClass() string
	// CrashClass is the node class whose start kills the process ("" for
	// none).
	CrashClass() string
	PreviewMethod() string
	PreviewSize() int
	Models(folder string) []string
	// Checkpoint blocks while the simulator is hung, and returns ctx's
	// error when the simulator shuts down.
	Checkpoint(ctx context.Context) error
	// Changed is closed at the next knob change, so that waits re-read
	// their delay.
	Changed() <-chan struct{}
}

// Config wires an Executor.
type Config struct {
	Catalog *workflow.Catalog
	Dir     func(kind string) string
	Limits  tensor.Limits
	Knobs   Knobs
	Emitter Emitter
	// Crash kills the simulated process when a node of Knobs.CrashClass
	// starts; it must end the context given to Execute. Nil: never.
	Crash func(nodeID, class string)
	// Seed seeds the random source of node instances (temp file prefixes).
	Seed   uint64
	Now    func() time.Time
	Logger *slog.Logger
}

// Executor is ComfyUI's PromptExecutor. Execute must be called from one
// goroutine at a time (the worker); Interrupt and Resync may be called from
// anywhere.
type Executor struct {
	cfg         Config
	rng         *rand.Rand
	caches      *cacheSet
	interrupted atomic.Bool
	changed     atomic.Uint64 // makes "always changed" keys unique
	testHook    atomic.Pointer[func(class string)]

	mu        sync.Mutex // guards the fields below
	clientID  *string
	lastNode  *string
	interrupt context.CancelFunc // ends the running prompt's sleeps
}

// New returns an executor with empty caches.
func New(cfg Config) *Executor {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Executor{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)), caches: newCacheSet()}
}

// SetTestHook makes every node call hook with its class just before its
// implementation runs (nil removes it). Tests use it to make a node
// misbehave, e.g. panic, in ways no knob offers.
func (e *Executor) SetTestHook(hook func(class string)) {
	if hook == nil {
		e.testHook.Store(nil)
		return
	}
	e.testHook.Store(&hook)
}

// Interrupt sets the process-wide interrupt flag; the running prompt stops
// at its next node start or progress step. Simulated work (delays) ends at
// once, as if that step had just finished.
func (e *Executor) Interrupt() {
	e.interrupted.Store(true)
	e.mu.Lock()
	if e.interrupt != nil {
		e.interrupt()
	}
	e.mu.Unlock()
}

// Reset drops every cache (POST /free with free_memory). Call it from the
// worker, between prompts.
func (e *Executor) Reset() { e.caches = newCacheSet() }

// Resync returns the node to report to a socket that (re)connects with
// client id sid while one of its prompts runs a node.
func (e *Executor) Resync(sid string) (string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.clientID == nil || *e.clientID != sid || e.lastNode == nil {
		return "", false
	}
	return *e.lastNode, true
}

// Result is what a run leaves for the history entry.
type Result struct {
	Success  bool
	Messages []comfy.StatusMessage
	// Outputs and Meta hold, per node in prompt order, its UI output and
	// output meta (cached outputs included).
	Outputs comfyjson.Object
	Meta    comfyjson.Object
	// Interrupted is true when the run ended with execution_interrupted.
	Interrupted bool
	// Executed counts nodes that actually ran.
	Executed int
}

// run holds the state of one Execute call.
type run struct {
	e        *Executor
	ctx      context.Context // ends at shutdown
	ictx     context.Context // also ends on interrupt
	job      *Job
	p        *prompt
	client   *string
	progress *progressRegistry
	executed []string
	messages []comfy.StatusMessage
	current  []string // current_outputs
	staged   string   // the node being run, blamed for a panic outside it
}

func (e *Executor) now() int64 { return e.cfg.Now().UnixMilli() }

// addMessage records a status message for history and sends it to the
// client (or everybody when broadcast and there is no client).
func (r *run) addMessage(ev comfy.Event, broadcast bool) {
	data, _ := json.Marshal(ev)
	r.messages = append(r.messages, comfy.StatusMessage{Event: ev.EventType(), Data: data})
	if r.client != nil || broadcast {
		r.e.cfg.Emitter.Event(ev, r.client)
	}
}

// sendToClient sends an event only when the prompt has a client id, like
// ComfyUI's `if server.client_id is not None` guards.
func (r *run) sendToClient(ev comfy.Event) {
	if r.client != nil {
		r.e.cfg.Emitter.Event(ev, r.client)
	}
}

func (e *Executor) setState(client, lastNode *string) {
	e.mu.Lock()
	e.clientID, e.lastNode = client, lastNode
	e.mu.Unlock()
}

func (e *Executor) setLastNode(id *string) {
	e.mu.Lock()
	e.lastNode = id
	e.mu.Unlock()
}
