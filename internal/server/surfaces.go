package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/comfygate/comfygate/internal/comfyapi"
	"github.com/comfygate/comfygate/internal/flaskapi"
	"github.com/comfygate/comfygate/internal/gateway"
	"github.com/comfygate/comfygate/internal/httpapi"
	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/internal/ui"
)

// rootHandler puts every surface on the one listener. The REST API keeps
// its own paths (unknown ones under /v1/ get its JSON 404); any other path
// no surface claims is a ComfyUI route (a custom node's, the ComfyUI
// frontend's files), which the ComfyUI surface proxies to a backend.
func rootHandler(rest *httpapi.Server, comfy *comfyapi.Handler, svc *gateway.Service, store job.Store, keys []httpapi.APIKey, log *slog.Logger) (http.Handler, error) {
	flask, err := flaskapi.New(flaskapi.Config{Service: svc, Store: store, Owner: ownerFunc(keys), Logger: log})
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

// ownerFunc authenticates requests of the surfaces that do not do it
// themselves, with the REST API's rules: a key in "Authorization: Bearer"
// or "X-API-Key", compared by hash in constant time against every key. nil
// when authentication is off.
func ownerFunc(keys []httpapi.APIKey) func(*http.Request) (string, error) {
	if len(keys) == 0 {
		return nil
	}
	return func(r *http.Request) (string, error) {
		presented := presentedKey(r.Header)
		if presented == "" {
			return "", errNoKey
		}
		h := sha256.Sum256([]byte(presented))
		owner, ok := "", false
		for _, k := range keys {
			if subtle.ConstantTimeCompare(h[:], k.Hash[:]) == 1 {
				owner, ok = k.ID, true
			}
		}
		if !ok {
			return "", errUnknownKey
		}
		return owner, nil
	}
}

var (
	errNoKey      = errors.New("missing API key: send Authorization: Bearer <key> or X-API-Key")
	errUnknownKey = errors.New("unknown API key")
)

func presentedKey(h http.Header) string {
	if v := h.Get("Authorization"); v != "" {
		scheme, token, ok := strings.Cut(v, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(token)
		}
		return ""
	}
	return strings.TrimSpace(h.Get("X-API-Key"))
}
