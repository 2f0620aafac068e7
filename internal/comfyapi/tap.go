package comfyapi

import (
	"sync/atomic"

	"github.com/comfygate/comfygate/comfy"
)

// TapLater is the dispatcher's tap (what it calls with every message a
// backend sends about a job) when the dispatcher has to be built before
// the Handler, which needs the use cases over it: it forwards to the
// Handler given to Set and drops what comes before.
type TapLater struct{ h atomic.Pointer[Handler] }

// Set starts forwarding to h.
func (t *TapLater) Set(h *Handler) { t.h.Store(h) }

// Message forwards one backend message to the Handler, if set.
func (t *TapLater) Message(jobID string, ev comfy.Event) {
	if h := t.h.Load(); h != nil {
		h.Message(jobID, ev)
	}
}
