package comfyapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/comfygate/comfygate/workflow"
)

// aiohttp's content types, which clients of ComfyUI see.
const (
	contentJSON  = "application/json; charset=utf-8"
	contentText  = "text/plain; charset=utf-8"
	contentEmpty = "application/octet-stream"
)

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

func writeJSONBytes(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentJSON)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeEmpty is aiohttp's web.Response(status=...): no body, octet-stream.
func writeEmpty(w http.ResponseWriter, status int) {
	h := w.Header()
	h.Set("Content-Type", contentEmpty)
	h.Set("Content-Length", "0")
	w.WriteHeader(status)
}

func writeText(w http.ResponseWriter, status int, text string) {
	h := w.Header()
	h.Set("Content-Type", contentText)
	h.Set("Content-Length", strconv.Itoa(len(text)))
	w.WriteHeader(status)
	_, _ = io.WriteString(w, text)
}

func notFound(w http.ResponseWriter) { writeText(w, http.StatusNotFound, "404: Not Found") }

// internalError is aiohttp's answer to an unhandled exception; ComfyUI
// gives it for malformed bodies, and clients expect exactly this text.
func internalError(w http.ResponseWriter) {
	writeText(w, http.StatusInternalServerError, workflow.InternalErrorBody)
}

// unavailable answers a failure of comfygate itself (store down): the
// client may retry, unlike after ComfyUI's 500.
func (h *Handler) unavailable(c *call, what string, err error) {
	h.log.Error("comfyapi: "+what, "path", c.r.URL.Path, "err", err)
	c.w.Header().Set("Retry-After", "1")
	writeText(c.w, http.StatusServiceUnavailable, "503: Service Unavailable: "+what+" failed")
}

// errBodyTooLarge marks a body over MaxUploadBytes.
var errBodyTooLarge = errors.New("request body too large")

// readBody reads the whole body within the upload limit.
func (h *Handler) readBody(r *http.Request) ([]byte, error) {
	limit := h.cfg.MaxUploadBytes
	if r.ContentLength > limit {
		return nil, errBodyTooLarge
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, errBodyTooLarge
	}
	return data, nil
}

// bodyError answers a failed readBody: 413 as aiohttp does beyond
// client_max_size, 500 for anything else.
func (h *Handler) bodyError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errBodyTooLarge) {
		writeText(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("Maximum request body size %d exceeded, actual body size %d",
			h.cfg.MaxUploadBytes, max(r.ContentLength, h.cfg.MaxUploadBytes+1)))
		return
	}
	internalError(w)
}

// readJSON reads a JSON body as ComfyUI's `await request.json()` does; any
// failure is answered (413 or 500) and reported as !ok.
func (h *Handler) readJSON(c *call) (any, bool) {
	data, err := h.readBody(c.r)
	if err != nil {
		h.bodyError(c.w, c.r, err)
		return nil, false
	}
	v, err := decodeJSON(data)
	if err != nil {
		internalError(c.w)
		return nil, false
	}
	return v, true
}

// decodeJSON decodes one JSON value with numbers kept as json.Number.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("trailing data after JSON value")
	}
	return v, nil
}

// parseQuery parses a raw query the way aiohttp (yarl) does: only "&"
// separates pairs, so values such as preview=webp;50 survive, where Go's
// url.ParseQuery drops every pair holding a ";".
func parseQuery(raw string) url.Values {
	v := url.Values{}
	for _, pair := range strings.Split(raw, "&") {
		if pair == "" {
			continue
		}
		k, val, _ := strings.Cut(pair, "=")
		key, err1 := url.QueryUnescape(k)
		value, err2 := url.QueryUnescape(val)
		if err1 != nil || err2 != nil {
			continue
		}
		v[key] = append(v[key], value)
	}
	return v
}
