package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/comfygate/comfygate/internal/comfyapi"
	"github.com/comfygate/comfygate/internal/fleet"
)

// The surface takes every message a backend sends about a job, through
// the tap the fleet was built with.
var (
	_ fleet.Tap = (*comfyapi.Handler)(nil)
	_ fleet.Tap = (*comfyapi.TapLater)(nil)
)

// startComfy builds and starts the ComfyUI-compatible surface over the use
// cases, and points the fleet's tap (p.tap, given to the fleet when it was
// built) at it. owner authenticates its requests (nil: authentication off).
func (p *parts) startComfy(ctx context.Context, cfg Config, owner func(*http.Request) (string, error)) error {
	h, err := comfyapi.New(comfyapi.Config{
		Store: p.store, Artifacts: p.arts, Hub: p.hub, Gateway: p.svc, Names: p.names,
		Owner: owner, Logger: cfg.Logger, MaxUploadBytes: cfg.MaxUploadBytes,
		MaxPromptBytes: cfg.Limits.MaxPromptBytes, InFlight: p.inflight,
	})
	if err != nil {
		return fmt.Errorf("comfyui surface: %w", err)
	}
	p.tap.Set(h)
	p.replicas.watch(p.hub, h.Sockets)
	if err := h.Start(ctx); err != nil {
		return fmt.Errorf("start comfyui surface: %w", err)
	}
	p.comfy = h
	return nil
}

// restClaims reports the paths the REST API answers for itself, even when
// it does not know them (its JSON 404): everything else that no surface
// claims is a ComfyUI route of a custom node, proxied to a backend.
func restClaims(path string) bool {
	switch path {
	case "/healthz", "/readyz", "/health", "/ready", "/metrics", "/openapi.json", "/docs":
		return true
	}
	return strings.HasPrefix(path, "/v1/") || strings.HasPrefix(path, "/docs/")
}

// mountComfy puts the ComfyUI surface's routes on mux, and makes it the
// fallback for paths nobody claims.
func mountComfy(mux *http.ServeMux, h *comfyapi.Handler, rest http.Handler) {
	h.Register(mux)
	mux.Handle("/", h.Fallback(rest, restClaims))
}
