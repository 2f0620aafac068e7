package hub

import (
	"bytes"
	"encoding/json"

	"github.com/coder/websocket"
)

// Send delivers f to the socket registered under *sid, or to every registered
// socket when sid is nil (ComfyUI's send with sid=None). Frames for an id
// with no socket are dropped, as in ComfyUI.
func (h *Hub) Send(sid *string, f Frame) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if sid == nil {
		for _, c := range h.sockets {
			h.enqueueLocked(c, f)
		}
		return
	}
	if c, ok := h.sockets[*sid]; ok {
		h.enqueueLocked(c, f)
	}
}

// enqueueLocked queues f without blocking; a socket that cannot take it is
// closed rather than allowed to hold up the sender.
func (h *Hub) enqueueLocked(c *Conn, f Frame) {
	if c.queued+len(f.Data) > h.opts.BufferBytes {
		h.dropLocked(c)
		return
	}
	select {
	case c.out <- f:
		c.queued += len(f.Data)
	default:
		h.dropLocked(c)
	}
}

func (h *Hub) dropLocked(c *Conn) {
	h.opts.Logger.Warn("closing websocket that stopped reading", "sid", c.sid)
	if h.sockets[c.sid] == c {
		delete(h.sockets, c.sid)
	}
	c.stop()
}

// Supports reports whether the socket registered under sid negotiated flag
// with JSON true (feature_flags.supports_feature).
func (h *Hub) Supports(sid *string, flag string) bool {
	if sid == nil {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	c, ok := h.sockets[*sid]
	if !ok {
		return false
	}
	v, _ := c.flags[flag].(bool)
	return v
}

// Connected reports whether a socket is registered under sid.
func (h *Hub) Connected(sid string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.sockets[sid]
	return ok
}

// handleText applies ComfyUI's negotiation rule: only the first text message
// that parses as a JSON object counts; if its type is feature_flags, its data
// become the socket's flags and the server answers with its own. Messages
// that are not JSON objects do not use up the first-message slot.
func (c *Conn) handleText(data []byte, first bool) bool {
	var msg map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&msg); err != nil || msg == nil {
		return first
	}
	if !first {
		return false
	}
	var typ string
	if raw, ok := msg["type"]; ok {
		_ = json.Unmarshal(raw, &typ)
	}
	if typ != "feature_flags" {
		return false
	}
	var flags map[string]any
	if raw, ok := msg["data"]; ok {
		_ = json.Unmarshal(raw, &flags) // non-objects leave the flags empty
	}
	h := c.hub
	h.mu.Lock()
	c.flags = flags
	h.enqueueLocked(c, Frame{Data: h.opts.ServerFlags})
	h.mu.Unlock()
	return false
}

// Pause stops every writer before its next frame (the "hang" fault: sockets
// go silent but stay open). Frames keep queueing up to the buffer limits.
func (h *Hub) Pause() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.paused {
		h.paused = true
		h.resume = make(chan struct{})
	}
}

// Resume lets paused writers continue.
func (h *Hub) Resume() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.paused {
		h.paused = false
		close(h.resume)
	}
}

// waitUnpaused blocks while the hub is paused; it returns false if stop
// fires first.
func (h *Hub) waitUnpaused(stop <-chan struct{}) bool {
	h.mu.Lock()
	paused, resume := h.paused, h.resume
	h.mu.Unlock()
	if !paused {
		return true
	}
	select {
	case <-resume:
		return true
	case <-stop:
		return false
	}
}

// CloseAll closes every open socket, registered or orphaned. With handshake
// it sends a close frame (1001 going away) and waits for the peer's answer;
// without, it drops the TCP connections at once.
func (h *Hub) CloseAll(handshake bool) {
	h.mu.Lock()
	conns := make([]*Conn, 0, len(h.all))
	for c := range h.all {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	if !handshake {
		for _, c := range conns {
			c.stop()
		}
		return
	}
	done := make(chan struct{}, len(conns))
	for _, c := range conns {
		go func() {
			_ = c.ws.Close(websocket.StatusGoingAway, "")
			done <- struct{}{}
		}()
	}
	for range conns {
		<-done
	}
}

// Count is the number of open sockets, orphans included.
func (h *Hub) Count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.all)
}

// Wait blocks until every writer goroutine has exited. Call after CloseAll
// and after the HTTP handlers running Conn.Run have returned.
func (h *Hub) Wait() { h.wg.Wait() }
