package comfyapi

import (
	"context"
	"sort"
	"sync/atomic"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/internal/fleet"
	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/workflow"
)

// FleetOf adapts the dispatcher to what the surface needs of it.
func FleetOf(f *fleet.Fleet) Fleet { return fleetAdapter{f} }

type fleetAdapter struct{ f *fleet.Fleet }

func (a fleetAdapter) Enqueue(id string) { a.f.Enqueue(id) }

func (a fleetAdapter) Cancel(ctx context.Context, id string) (*job.Job, error) {
	return a.f.Cancel(ctx, id)
}

func (a fleetAdapter) Catalog() *workflow.Catalog { return a.f.Catalog() }

func (a fleetAdapter) CheckRunnable(g workflow.Graph) error { return a.f.CheckRunnable(g) }

// Backends lists healthy backends first, each group in configuration order.
func (a fleetAdapter) Backends() []Backend {
	list := a.f.Backends()
	out := make([]Backend, 0, len(list))
	for _, b := range list {
		out = append(out, Backend{ID: b.ID, URL: b.URL, Healthy: b.State == fleet.StateHealthy})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Healthy && !out[j].Healthy })
	return out
}

var _ fleet.Tap = (*Handler)(nil)

// TapLater is the fleet's Tap when the fleet has to be built before the
// Handler (which needs the fleet): it forwards to the Handler given to Set
// and drops what comes before.
type TapLater struct{ h atomic.Pointer[Handler] }

var _ fleet.Tap = (*TapLater)(nil)

// Set starts forwarding to h.
func (t *TapLater) Set(h *Handler) { t.h.Store(h) }

// Message implements fleet.Tap.
func (t *TapLater) Message(jobID string, ev comfy.Event) {
	if h := t.h.Load(); h != nil {
		h.Message(jobID, ev)
	}
}
