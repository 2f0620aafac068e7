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
	"github.com/comfygate/comfygate/workflow"
)

// The answers below are ComfyUI's (aiohttp's) wire conventions, shared with
// the simulator through comfywire; these names keep the handlers short.

const contentEmpty = comfywire.ContentEmpty

func writeJSONBytes(w http.ResponseWriter, status int, body []byte) {
	comfywire.WriteJSONBytes(w, status, body)
}

func writeEmpty(w http.ResponseWriter, status int) { comfywire.WriteEmpty(w, status) }

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
				h.respond(w, r, &unauthorized{err})
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
		comfywire.InternalError(w)
		return
	}
	writeJSONBytes(w, status, bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

// readBody reads a whole JSON body within MaxPromptBytes, once the
// caller's key has room for it among its bytes in flight (Config.InFlight),
// which stay taken until the request ends.
func (h *Handler) readBody(c *call) ([]byte, error) {
	limit := h.cfg.MaxPromptBytes
	if c.r.ContentLength > limit {
		return nil, &bodyTooLarge{limit}
	}
	release, err := h.cfg.InFlight.Body(c.r, c.owner, limit)
	if err != nil {
		return nil, err
	}
	c.onDone(release)
	data, err := comfywire.ReadBody(c.r, limit)
	if errors.Is(err, comfywire.ErrBodyTooLarge) {
		return nil, &bodyTooLarge{limit}
	}
	return data, err
}

// readJSON reads a JSON body as ComfyUI's `await request.json()` does:
// a body over the limit is a 413, one that is not JSON a Python exception.
func (h *Handler) readJSON(c *call) (any, error) {
	v, err := h.decodeBody(c)
	if errors.Is(err, comfywire.ErrNotJSON) {
		return nil, errPython
	}
	return v, err
}

// decodeBody is `await request.json()` in a handler that catches
// json.JSONDecodeError: a body that is not JSON is an error wrapping
// comfywire.ErrNotJSON, for the handler to answer; any other failure goes
// to respond (413 or 500).
func (h *Handler) decodeBody(c *call) (any, error) {
	data, err := h.readBody(c)
	if err != nil {
		return nil, err
	}
	v, err := comfywire.DecodeJSON(data, bodyLimits(h.cfg.Limits))
	var le *comfyjson.LimitError
	if errors.As(err, &le) {
		return nil, &jsonTooLarge{le}
	}
	if err != nil {
		return nil, err
	}
	return comfyjson.Plain(v), nil
}

// bodyLimits are the decoder's bounds of the small JSON bodies (all but
// /prompt's): those of prompts, whose nesting and value count bound the
// memory a body of many small values takes once decoded.
func bodyLimits(l workflow.Limits) comfyjson.Limits {
	l = l.WithDefaults()
	return comfyjson.Limits{MaxDepth: l.MaxDepth, MaxStringLen: l.MaxStringLen, MaxValues: l.MaxValues}
}

// decodeJSON decodes one JSON value as json.loads does, objects as maps
// (the handlers here need no key order), numbers as json.Number.
func decodeJSON(data []byte) (any, error) {
	v, err := comfyjson.DecodeLimits(data, bodyLimits(workflow.Limits{}))
	return comfyjson.Plain(v), err
}
