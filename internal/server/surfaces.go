package server

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/comfygate/comfygate/internal/comfyapi"
	"github.com/comfygate/comfygate/internal/flaskapi"
	"github.com/comfygate/comfygate/internal/gateway"
	"github.com/comfygate/comfygate/internal/httpapi"
	"github.com/comfygate/comfygate/internal/inflight"
	"github.com/comfygate/comfygate/internal/ui"
)

// rootHandler puts every surface on the one listener. The REST API keeps
// its own paths (unknown ones under /v1/ get its JSON 404); any other path
// no surface claims is a ComfyUI route (a custom node's, the ComfyUI
// frontend's files), which the ComfyUI surface proxies to a backend.
// owner authenticates the Flask surface's requests (httpapi.Authenticator;
// nil when authentication is off); bytes bounds their bodies in flight.
func rootHandler(rest *httpapi.Server, comfy *comfyapi.Handler, svc *gateway.Service, owner func(*http.Request) (string, error),
	bytes *inflight.Limiter, log *slog.Logger) (http.Handler, error) {
	flask, err := flaskapi.New(flaskapi.Config{Service: svc, Owner: owner, Logger: log, InFlight: bytes})
	if err != nil {
		return nil, fmt.Errorf("flask surface: %w", err)
	}
	web := ui.Handler()
	mux := http.NewServeMux()
	mountComfy(mux, comfy, rest) // "/": REST's paths, else ComfyUI routes proxied to a backend
	mux.Handle(ui.Prefix, web)
	mux.Handle("GET /{$}", web)
	flask.Register(mux) // RootHistory off: /api/history is the ComfyUI surface's
	return mux, nil
}
