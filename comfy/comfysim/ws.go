package comfysim

import (
	"net/http"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/comfy/comfyjson"
	"github.com/comfygate/comfygate/comfy/comfysim/internal/hub"
	"github.com/comfygate/comfygate/internal/comfywire"
)

// handleWS is /ws: the socket registers under ?clientId= (or a fresh
// uuid4().hex), is greeted with status+sid, gets the "executing" re-sync
// when its prompt is running a node, and then receives what the hub routes
// to it until it closes.
func (s *Server) handleWS(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		comfywire.WriteEmpty(w, http.StatusServiceUnavailable)
		return
	}
	s.sockets.Add(1)
	s.mu.Unlock()
	defer s.sockets.Done()
	ws, err := s.hub.Accept(w, r)
	if err != nil {
		return
	}
	sid := comfywire.ParseQuery(r.URL.RawQuery).Get("clientId")
	if sid == "" {
		sid = newHexID()
	}
	s.mu.Lock()
	greeting := []hub.Frame{encodeEvent(comfy.StatusData{Status: s.queueInfoLocked(), Sid: &sid})}
	if node, ok := s.exec.Resync(sid); ok {
		greeting = append(greeting, encodeEvent(comfy.Executing{Node: &node}))
	}
	c := s.hub.Register(ws, sid, greeting)
	s.mu.Unlock()
	c.Run(r.Context())
}

// encodeEvent encodes a JSON event as ComfyUI's send_json does.
func encodeEvent(ev comfy.Event) hub.Frame {
	data, err := comfy.EncodeMessage(ev)
	if err != nil {
		// Only events built by the simulator get here; a failure is a bug.
		panic(err)
	}
	return hub.Frame{Data: comfyjson.Pythonize(data)}
}

// emitLocked sends a JSON event (to one socket, or all when to is nil).
// s.mu is held by the caller, keeping queue changes and their messages in
// one order.
func (s *Server) emitLocked(ev comfy.Event, to *string) {
	s.hub.Send(to, encodeEvent(ev))
}

// emitter adapts the Server to engine.Emitter.
type emitter Server

func (e *emitter) Event(ev comfy.Event, to *string) {
	(*Server)(e).hub.Send(to, encodeEvent(ev))
}

func (e *emitter) Binary(frame []byte, to *string) {
	(*Server)(e).hub.Send(to, hub.Frame{Binary: true, Data: frame})
}

func (e *emitter) SupportsPreviewMetadata(to *string) bool {
	return (*Server)(e).hub.Supports(to, comfy.FlagSupportsPreviewMetadata)
}

// featureFlagsMessage is the reply to a client's feature_flags message.
// ComfyUI's max_upload_size is an int when --max-upload-size is left at
// its default and a float when set.
func (s *Server) featureFlagsMessage() []byte {
	return comfyjson.MustDumps(comfyjson.Object{{Key: "type", Value: comfy.EventFeatureFlags}, {Key: "data", Value: s.featureFlags()}})
}

func (s *Server) featureFlags() comfyjson.Object {
	var size any = comfyjson.Float(s.opts.MaxUploadSizeMB * 1024 * 1024)
	if s.opts.MaxUploadSizeMB <= 0 {
		size = s.opts.maxUploadBytes()
	}
	return comfyjson.Object{{Key: "supports_preview_metadata", Value: true}, {Key: "max_upload_size", Value: size}}
}

func (s *Server) handleFeatures(w http.ResponseWriter, _ *http.Request, _ map[string]string) {
	writeJSON(w, http.StatusOK, s.featureFlags())
}
