package comfysim

import (
	"errors"
	"net/http"

	"github.com/comfygate/comfygate/comfy/comfysim/internal/pyjson"
	"github.com/comfygate/comfygate/internal/comfywire"
)

// writeJSON answers with json.dumps-style JSON, like web.json_response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := pyjson.Marshal(v)
	if err != nil {
		internalError(w)
		return
	}
	comfywire.WriteJSONBytes(w, status, body)
}

// internalError is aiohttp's answer to an unhandled exception, closing the
// connection as ComfyUI's server does after one.
func internalError(w http.ResponseWriter) {
	w.Header().Set("Connection", "close")
	comfywire.InternalError(w)
}

// readBody reads the whole body within the upload limit.
func (s *Server) readBody(r *http.Request) ([]byte, error) {
	return comfywire.ReadBody(r, s.opts.maxUploadBytes())
}

// bodyError answers a failed readBody: 413 as aiohttp does for
// client_max_size, no answer to a client too slow to send its body (see
// limitBodies), 500 for anything else.
func (s *Server) bodyError(w http.ResponseWriter, r *http.Request, err error) {
	if bodyTimedOut(r) {
		dropConn(w)
		return
	}
	if errors.Is(err, comfywire.ErrBodyTooLarge) {
		comfywire.WriteBodyTooLarge(w, r, s.opts.maxUploadBytes())
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
