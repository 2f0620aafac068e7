package comfyapi

import (
	"context"
	"slices"

	"golang.org/x/sync/errgroup"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/internal/gateway"
)

// backends lists the fleet's backends, healthy ones first, each group in
// configuration order. A failure to list them reads as an empty fleet.
func (h *Handler) backends(ctx context.Context) []gateway.Backend {
	all, err := h.gw.Backends(ctx)
	if err != nil {
		h.log.Warn("comfyapi: listing backends failed", "err", err)
		return nil
	}
	slices.SortStableFunc(all, func(a, b gateway.Backend) int {
		switch {
		case a.Healthy() == b.Healthy():
			return 0
		case a.Healthy():
			return -1
		}
		return 1
	})
	return all
}

// usable are the healthy backends, or all of them when none is.
func usable(all []gateway.Backend) []gateway.Backend {
	var out []gateway.Backend
	for _, b := range all {
		if b.Healthy() {
			out = append(out, b)
		}
	}
	if len(out) == 0 {
		return all
	}
	return out
}

// healthyBackend returns the first healthy backend (or the first of all
// when none is).
func (h *Handler) healthyBackend(ctx context.Context) (gateway.Backend, error) {
	if all := usable(h.backends(ctx)); len(all) > 0 {
		return all[0], nil
	}
	return gateway.Backend{}, errNoBackend
}

func (h *Handler) backend(ctx context.Context, id string) (gateway.Backend, bool) {
	for _, b := range h.backends(ctx) {
		if b.ID == id {
			return b, true
		}
	}
	return gateway.Backend{}, false
}

// eachBackend runs fn against every healthy backend at once (every
// backend, when none is healthy: one that is merely slow to answer its
// probes still knows what it is), each bounded by BackendTimeout;
// failures are logged.
func (h *Handler) eachBackend(ctx context.Context, fn func(context.Context, gateway.Backend, *comfy.Client) error) {
	var g errgroup.Group
	for _, b := range usable(h.backends(ctx)) {
		g.Go(func() error {
			cl, err := h.client(b)
			if err == nil {
				bctx, cancel := context.WithTimeout(ctx, h.cfg.BackendTimeout)
				err = fn(bctx, b, cl)
				cancel()
			}
			if err != nil {
				h.log.Warn("comfyapi: backend request failed", "backend", b.ID, "err", err)
			}
			return nil
		})
	}
	_ = g.Wait()
}

// client is a ComfyUI client for b.
func (h *Handler) client(b gateway.Backend) (*comfy.Client, error) {
	return comfy.NewClient(b.URL, comfy.WithHTTPClient(h.cfg.HTTPClient))
}
