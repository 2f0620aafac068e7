package comfysim

import (
	"errors"
	"net/http"

	"github.com/comfygate/comfygate/comfy/comfyjson"
	"github.com/comfygate/comfygate/internal/comfywire"
)

// writeJSON answers with json.dumps-style JSON, like web.json_response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := comfyjson.Dumps(v)
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
	v, answered, err := s.decodeBody(w, r)
	if err != nil && !answered {
		internalError(w)
		return nil, false
	}
	return v, !answered
}

// decodeBody is `await request.json()` in a handler that catches
// json.JSONDecodeError: a body that is not JSON comes back as err for the
// handler to answer; any other failure is answered here (413 or 500).
func (s *Server) decodeBody(w http.ResponseWriter, r *http.Request) (v any, answered bool, err error) {
	v, err = comfywire.ReadJSON(r, s.opts.maxUploadBytes())
	if err != nil && !errors.Is(err, comfywire.ErrNotJSON) {
		s.bodyError(w, r, err)
		return nil, true, err
	}
	return v, false, err
}
