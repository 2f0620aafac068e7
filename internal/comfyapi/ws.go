package comfyapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"

	"github.com/coder/websocket"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/internal/job"
)

// wsReadLimit is the largest message a client may send, aiohttp's default.
const wsReadLimit = 4 << 20

// serveWS is GET /ws?clientId=: the socket is greeted with status and its
// sid, gets the "executing" re-sync when its prompt is running a node,
// answers feature_flags negotiation, and then receives what the relay
// routes to it. With API keys on, a clientId is bound to the key that used
// it first: another key gets 403.
func (h *Handler) serveWS(c *call) error {
	sid := parseQuery(c.r.URL.RawQuery).Get("clientId")
	if sid == "" {
		sid = newHexID()
	} else if h.clientTaken(c.r.Context(), c.owner, sid) {
		return statusOnly(http.StatusForbidden)
	}
	if h.stopping.Load() {
		return statusOnly(http.StatusServiceUnavailable)
	}
	// aiohttp's 101 carries a stray Content-Type; clients have seen it.
	c.w.Header().Set("Content-Type", contentEmpty)
	cw := &corkingWriter{ResponseWriter: c.w}
	ws, err := websocket.Accept(cw, c.r, &websocket.AcceptOptions{InsecureSkipVerify: true}) // origin checked by the router
	if err != nil {
		return nil // Accept answered the failed handshake itself
	}
	ws.SetReadLimit(wsReadLimit)
	s, ok := h.sockets.add(ws, cw.conn, c.owner, sid, func() []frame { return h.greeting(c.owner, sid) })
	if !ok {
		_ = ws.Close(websocket.StatusGoingAway, "")
		return nil
	}
	defer h.sockets.remove(s)
	h.readLoop(c.r.Context(), s)
	return nil
}

// clientTaken reports whether sid belongs to another API key: a live
// socket of that key, or its newest job. Single-tenant, nothing is taken.
func (h *Handler) clientTaken(ctx context.Context, owner, sid string) bool {
	if !h.cfg.multiTenant() {
		return false
	}
	if h.sockets.heldByOther(owner, sid) {
		return true
	}
	jobs, _, err := h.store.ListJobs(ctx, job.JobFilter{ClientID: sid, Limit: 1})
	if err != nil {
		h.log.Warn("comfyapi: checking a clientId failed", "err", err)
		return true // refuse rather than risk handing over another key's id
	}
	return len(jobs) > 0 && jobs[0].Owner != owner
}

// greeting is the first frames of a socket: status with sid, then the
// node its prompt is executing, if any (no prompt_id, as ComfyUI sends it).
func (h *Handler) greeting(owner, sid string) []frame {
	out := []frame{textFrame(comfy.StatusData{Status: h.queueInfo(owner), Sid: &sid})}
	if node, ok := h.relay.resync.get(owner, sid); ok {
		out = append(out, textFrame(comfy.Executing{Node: &node}))
	}
	return out
}

func (h *Handler) queueInfo(owner string) comfy.PromptInfo {
	return comfy.PromptInfo{ExecInfo: comfy.ExecInfo{QueueRemaining: h.tracker.count(owner)}}
}

// readLoop reads until the socket closes: only the first JSON object the
// client sends counts, and if it is feature_flags, the socket's flags are
// set and the server's are sent back.
func (h *Handler) readLoop(ctx context.Context, s *socket) {
	first := true
	for {
		typ, data, err := s.ws.Read(ctx)
		if err != nil {
			return
		}
		if typ != websocket.MessageText || !first {
			continue
		}
		var msg struct {
			Type string          `json:"type"`
			Data json.RawMessage `json:"data"`
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		var probe map[string]json.RawMessage
		if dec.Decode(&probe) != nil || probe == nil {
			continue // not a JSON object: the first-message slot stays open
		}
		first = false
		if json.Unmarshal(data, &msg) != nil || msg.Type != comfy.EventFeatureFlags {
			continue
		}
		var flags map[string]any
		_ = json.Unmarshal(msg.Data, &flags)
		v, _ := flags[comfy.FlagSupportsPreviewMetadata].(bool)
		s.metadata.Store(v)
		h.sockets.send(s, textFrame(comfy.FeatureFlags{
			comfy.FlagSupportsPreviewMetadata: true, comfy.FlagMaxUploadSize: h.cfg.MaxUploadBytes,
		}))
	}
}

// textFrame encodes a JSON event the relay built itself.
func textFrame(ev comfy.Event) frame {
	data, err := comfy.EncodeMessage(ev)
	if err != nil {
		data = []byte(`{"type":"` + ev.EventType() + `","data":null}`)
	}
	return frame{data: data}
}

// newHexID is ComfyUI's sid for a socket without clientId: uuid4().hex.
func newHexID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return hex.EncodeToString(b[:])
}
