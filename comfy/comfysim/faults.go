package comfysim

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
)

// Duration is a time.Duration that reads JSON as a Go duration string
// ("250ms") or a number of milliseconds, and writes the string form.
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("duration %q: %w", s, err)
		}
		*d = Duration(v)
		return nil
	}
	var ms float64
	if err := json.Unmarshal(b, &ms); err != nil {
		return fmt.Errorf("duration: want a string like \"250ms\" or milliseconds, got %s", b)
	}
	*d = Duration(time.Duration(ms * float64(time.Millisecond)))
	return nil
}

// Faults is the current fault configuration (GET /sim/faults).
type Faults struct {
	StepDelay Duration `json:"step_delay"`
	NodeDelay Duration `json:"node_delay"`
	// ClassDelays override NodeDelay per node class.
	ClassDelays map[string]Duration `json:"class_delays"`
	ViewDelay   Duration            `json:"view_delay"`
	FailNode    string              `json:"fail_node"`
	// CrashNode is the node class whose start crashes the server.
	CrashNode     string `json:"crash_node"`
	PreviewMethod string `json:"preview_method"`
	Hang          bool   `json:"hang"`
}

// FaultUpdate changes faults at run time (POST /sim/faults body). Nil
// fields are left as they are. CloseSockets and Crash are actions.
type FaultUpdate struct {
	StepDelay *Duration `json:"step_delay,omitempty"`
	NodeDelay *Duration `json:"node_delay,omitempty"`
	// ClassDelays are merged into the per-class delays; a zero delay
	// removes a class's override.
	ClassDelays map[string]Duration `json:"class_delays,omitempty"`
	ViewDelay   *Duration           `json:"view_delay,omitempty"`
	FailNode    *string             `json:"fail_node,omitempty"`
	// CrashNode crashes the server (see Server.Crash) when a node of this
	// class starts executing, like a backend dying on a segfault or a CUDA
	// fault; "" turns it off.
	CrashNode     *string `json:"crash_node,omitempty"`
	PreviewMethod *string `json:"preview_method,omitempty"`
	// Hang stops the worker at its next step and silences every socket
	// (they stay open); false resumes both.
	Hang *bool `json:"hang,omitempty"`
	// CloseSockets closes every WebSocket (with a going-away close frame).
	CloseSockets bool `json:"close_sockets,omitempty"`
	// Crash stops the server abruptly (see Server.Crash).
	Crash bool `json:"crash,omitempty"`
}

var previewMethods = []string{"none", "auto", "latent2rgb", "taesd"}

// knobs hold the run-time settings the engine and handlers read.
type knobs struct {
	mu       sync.Mutex // guards the fields below
	f        Faults
	resume   chan struct{} // closed when a hang ends
	released bool          // set at shutdown: never hang again
	changed  chan struct{} // closed and replaced at every change
	size     int
	models   map[string][]string
}

func newKnobs(o Options) *knobs {
	classes := map[string]Duration{}
	for k, v := range o.ClassDelays {
		if v > 0 {
			classes[k] = Duration(v)
		}
	}
	return &knobs{
		changed: make(chan struct{}),
		f: Faults{StepDelay: Duration(o.StepDelay), NodeDelay: Duration(o.NodeDelay), ClassDelays: classes,
			ViewDelay: Duration(o.ViewDelay), FailNode: o.FailNode, CrashNode: o.CrashNode, PreviewMethod: o.PreviewMethod},
		size: o.PreviewSize,
		models: map[string][]string{
			"checkpoints": slices.Clone(o.models().Checkpoints),
			"loras":       slices.Clone(o.models().Loras),
			"vae":         append(slices.Clone(o.models().VAE), "pixel_space"),
			"embeddings":  slices.Clone(o.Embeddings),
		},
	}
}

func (k *knobs) get() Faults {
	k.mu.Lock()
	defer k.mu.Unlock()
	f := k.f
	f.ClassDelays = maps.Clone(k.f.ClassDelays)
	return f
}

func (k *knobs) StepDelay() time.Duration { return time.Duration(k.get().StepDelay) }

// NodeDelay is the class's own delay, else the global one.
func (k *knobs) NodeDelay(class string) time.Duration {
	k.mu.Lock()
	defer k.mu.Unlock()
	if d, ok := k.f.ClassDelays[class]; ok {
		return time.Duration(d)
	}
	return time.Duration(k.f.NodeDelay)
}
func (k *knobs) ViewDelay() time.Duration { return time.Duration(k.get().ViewDelay) }
func (k *knobs) FailClass() string        { return k.get().FailNode }
func (k *knobs) CrashClass() string       { return k.get().CrashNode }
func (k *knobs) PreviewMethod() string    { return k.get().PreviewMethod }
func (k *knobs) PreviewSize() int         { return k.size }

// Models lists a model folder (never nil for known folders).
func (k *knobs) Models(folder string) []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.models[folder])
}

// Changed is closed at the next change of any knob.
func (k *knobs) Changed() <-chan struct{} {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.changed
}

// notifyLocked wakes everybody waiting on Changed; k.mu must be held.
func (k *knobs) notifyLocked() {
	close(k.changed)
	k.changed = make(chan struct{})
}

// Checkpoint blocks while hung.
func (k *knobs) Checkpoint(ctx context.Context) error {
	k.mu.Lock()
	hung, resume := k.f.Hang, k.resume
	k.mu.Unlock()
	if !hung {
		return ctx.Err()
	}
	select {
	case <-resume:
		return ctx.Err()
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (k *knobs) setHang(on bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	switch {
	case on && !k.f.Hang && !k.released:
		k.f.Hang = true
		k.resume = make(chan struct{})
	case !on && k.f.Hang:
		k.f.Hang = false
		close(k.resume)
	}
}

// release ends any hang for good (shutdown).
func (k *knobs) release() {
	k.setHang(false)
	k.mu.Lock()
	k.released = true
	k.mu.Unlock()
}

func (k *knobs) update(u FaultUpdate) error {
	if u.PreviewMethod != nil && !slices.Contains(previewMethods, *u.PreviewMethod) {
		return fmt.Errorf("preview_method: %q is not one of %v", *u.PreviewMethod, previewMethods)
	}
	for name, d := range map[string]*Duration{"step_delay": u.StepDelay, "node_delay": u.NodeDelay, "view_delay": u.ViewDelay} {
		if d != nil && *d < 0 {
			return fmt.Errorf("%s: must not be negative", name)
		}
	}
	for class, d := range u.ClassDelays {
		if d < 0 {
			return fmt.Errorf("class_delays[%q]: must not be negative", class)
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	defer k.notifyLocked()
	set := func(dst *Duration, src *Duration) {
		if src != nil {
			*dst = *src
		}
	}
	set(&k.f.StepDelay, u.StepDelay)
	set(&k.f.NodeDelay, u.NodeDelay)
	set(&k.f.ViewDelay, u.ViewDelay)
	for class, d := range u.ClassDelays {
		if d == 0 {
			delete(k.f.ClassDelays, class)
		} else {
			k.f.ClassDelays[class] = d
		}
	}
	if u.FailNode != nil {
		k.f.FailNode = *u.FailNode
	}
	if u.CrashNode != nil {
		k.f.CrashNode = *u.CrashNode
	}
	if u.PreviewMethod != nil {
		k.f.PreviewMethod = *u.PreviewMethod
	}
	return nil
}
