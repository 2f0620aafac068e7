package comfysim

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/comfygate/comfygate/comfy/comfysim/internal/pyjson"
	"github.com/comfygate/comfygate/workflow"
)

// aiohttp's content types.
const (
	contentJSON  = "application/json; charset=utf-8"
	contentText  = "text/plain; charset=utf-8"
	contentEmpty = "application/octet-stream"
)

// writeJSON answers with json.dumps-style JSON, like web.json_response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := pyjson.Marshal(v)
	if err != nil {
		internalError(w)
		return
	}
	writeJSONBytes(w, status, body)
}

func writeJSONBytes(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentJSON)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeEmpty is web.Response(status=...): no body, octet-stream.
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

// internalError is aiohttp's answer to an unhandled exception.
func internalError(w http.ResponseWriter) {
	w.Header().Set("Connection", "close")
	writeText(w, http.StatusInternalServerError, workflow.InternalErrorBody)
}

// errBodyTooLarge marks a body over client_max_size.
var errBodyTooLarge = errors.New("request body too large")

// readBody reads the whole body within the upload limit.
func (s *Server) readBody(r *http.Request) ([]byte, error) {
	limit := s.opts.maxUploadBytes()
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

// bodyError answers a failed readBody: 413 as aiohttp does for
// client_max_size, 500 for anything else.
func (s *Server) bodyError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errBodyTooLarge) {
		text := fmt.Sprintf("Maximum request body size %d exceeded, actual body size %d", s.opts.maxUploadBytes(), max(r.ContentLength, s.opts.maxUploadBytes()+1))
		writeText(w, http.StatusRequestEntityTooLarge, text)
		return
	}
	internalError(w)
}

// readJSON is `await request.json()`: the body decoded in order, or an
// error (a 500 in ComfyUI unless the handler catches it).
func (s *Server) readJSON(w http.ResponseWriter, r *http.Request) (any, bool) {
	data, err := s.readBody(r)
	if err != nil {
		s.bodyError(w, r, err)
		return nil, false
	}
	v, err := pyjson.Decode(data)
	if err != nil {
		internalError(w)
		return nil, false
	}
	return v, true
}

// query parses the URL query like yarl does: only "&" separates pairs, so
// values such as preview=webp;50 survive (net/url drops pairs with ";").
func query(r *http.Request) url.Values {
	v := url.Values{}
	for _, pair := range strings.Split(r.URL.RawQuery, "&") {
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
