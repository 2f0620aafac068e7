package comfyapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"

	"github.com/comfygate/comfygate/comfy/comfyjson"
	"github.com/comfygate/comfygate/internal/comfywire"
)

// The answers below are ComfyUI's (aiohttp's) wire conventions, shared with
// the simulator through comfywire; these names keep the handlers short.

const contentEmpty = comfywire.ContentEmpty

func writeJSONBytes(w http.ResponseWriter, status int, body []byte) {
	comfywire.WriteJSONBytes(w, status, body)
}

func writeEmpty(w http.ResponseWriter, status int) { comfywire.WriteEmpty(w, status) }

func writeText(w http.ResponseWriter, status int, text string) {
	comfywire.WriteText(w, status, text)
}

func notFound(w http.ResponseWriter) { comfywire.NotFound(w) }

func internalError(w http.ResponseWriter) { comfywire.InternalError(w) }

func parseQuery(raw string) url.Values { return comfywire.ParseQuery(raw) }

func pyInt(s string) (int, bool) { return comfywire.PyInt(s) }

type ownerKey struct{}

// authed resolves the caller before fn runs: with keys on, a request
// without a valid one gets 401 and never reaches a route or a backend.
func (h *Handler) authed(fn http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		owner := ""
		if h.cfg.Owner != nil {
			var err error
			if owner, err = h.cfg.Owner(r); err != nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="comfygate"`)
				writeText(w, http.StatusUnauthorized, "401: Unauthorized: "+err.Error())
				return
			}
		}
		fn(w, r.WithContext(context.WithValue(r.Context(), ownerKey{}, owner)))
	}
}

func ownerOf(r *http.Request) string {
	o, _ := r.Context().Value(ownerKey{}).(string)
	return o
}

// writeJSON answers v as JSON, like aiohttp's web.json_response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		internalError(w)
		return
	}
	writeJSONBytes(w, status, bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

// unavailable answers a failure of comfygate itself (store down): the
// client may retry, unlike after ComfyUI's 500.
func (h *Handler) unavailable(c *call, what string, err error) {
	h.log.Error("comfyapi: "+what, "path", c.r.URL.Path, "err", err)
	c.w.Header().Set("Retry-After", "1")
	writeText(c.w, http.StatusServiceUnavailable, "503: Service Unavailable: "+what+" failed")
}

// errBodyTooLarge marks a body over MaxUploadBytes.
var errBodyTooLarge = comfywire.ErrBodyTooLarge

// readBody reads the whole body within the upload limit.
func (h *Handler) readBody(r *http.Request) ([]byte, error) {
	return comfywire.ReadBody(r, h.cfg.MaxUploadBytes)
}

// bodyError answers a failed readBody: 413 as aiohttp does beyond
// client_max_size, 500 for anything else.
func (h *Handler) bodyError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errBodyTooLarge) {
		comfywire.WriteBodyTooLarge(w, r, h.cfg.MaxUploadBytes)
		return
	}
	internalError(w)
}

// readJSON reads a JSON body as ComfyUI's `await request.json()` does; any
// failure is answered (413 or 500) and reported as !ok.
func (h *Handler) readJSON(c *call) (any, bool) {
	v, answered, err := h.decodeBody(c)
	if err != nil && !answered {
		internalError(c.w)
		return nil, false
	}
	return v, !answered
}

// decodeBody is `await request.json()` in a handler that catches
// json.JSONDecodeError: a body that is not JSON comes back as err for the
// handler to answer; any other failure is answered here (413 or 500).
func (h *Handler) decodeBody(c *call) (v any, answered bool, err error) {
	v, err = comfywire.ReadJSON(c.r, h.cfg.MaxUploadBytes)
	if err != nil && !errors.Is(err, comfywire.ErrNotJSON) {
		h.bodyError(c.w, c.r, err)
		return nil, true, err
	}
	return comfyjson.Plain(v), false, err
}

// decodeJSON decodes one JSON value as json.loads does, objects as maps
// (the handlers here need no key order), numbers as json.Number.
func decodeJSON(data []byte) (any, error) {
	v, err := comfyjson.Decode(data)
	return comfyjson.Plain(v), err
}
