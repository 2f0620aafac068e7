package fidelity

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/coder/websocket"
)

// socket is one client WebSocket. A reader goroutine (owned by the socket,
// stopped and awaited by close) appends every frame; the scenario waits on
// conditions over those frames instead of sleeping.
type socket struct {
	s      *session
	name   string
	path   string
	conn   *websocket.Conn
	slot   int // index in s.raw.WS, -1 when not recorded
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex // guards the fields below
	events  []RawEvent
	msgs    []wsMsg       // received frames, decoded
	changed chan struct{} // closed and replaced when a frame arrives
	cursor  int           // msgs before it were consumed by waits
	closed  bool
}

// wsMsg is a received frame as the waits see it.
type wsMsg struct {
	Type string         `json:"type"`
	Data map[string]any `json:"data"`
}

// open dials path (e.g. "/ws?clientId=x") and waits for the greeting status
// frame every ComfyUI socket starts with.
func (s *session) open(name, path string) *socket {
	ctx, cancel := context.WithCancel(s.ctx)
	sk := &socket{s: s, name: name, path: path, slot: -1, cancel: cancel, done: make(chan struct{}), changed: make(chan struct{})}
	s.sockets = append(s.sockets, sk)
	wsURL := "ws" + strings.TrimPrefix(s.target.BaseURL, "http") + path
	conn, resp, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPClient: s.client})
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	if s.recording {
		sk.slot = len(s.raw.WS)
		s.raw.WS = append(s.raw.WS, RawSocket{Name: name, Path: path, Status: status})
	}
	if err != nil {
		close(sk.done)
		s.abortf("open socket %s (%s): %v", name, path, err)
	}
	conn.SetReadLimit(maxBody)
	sk.conn = conn
	go sk.read(ctx)
	sk.wait("greeting status", isType("status"))
	return sk
}

func (sk *socket) read(ctx context.Context) {
	defer close(sk.done)
	for {
		typ, b, err := sk.conn.Read(ctx)
		if err != nil {
			return
		}
		text := string(b)
		if typ == websocket.MessageBinary {
			text = fmt.Sprintf("binary frame, %d bytes, first8 %x", len(b), b[:min(8, len(b))])
		}
		var m wsMsg
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		_ = dec.Decode(&m) // a non-JSON frame stays an empty message for waits
		sk.mu.Lock()
		sk.events = append(sk.events, RawEvent{Recv: &text})
		sk.msgs = append(sk.msgs, m)
		close(sk.changed)
		sk.changed = make(chan struct{})
		sk.mu.Unlock()
	}
}

// send writes a JSON text frame and records it.
func (sk *socket) send(v any) {
	b := mustJSON(v)
	text := string(b)
	sk.mu.Lock()
	sk.events = append(sk.events, RawEvent{Send: &text})
	sk.mu.Unlock()
	if err := sk.conn.Write(sk.s.ctx, websocket.MessageText, b); err != nil {
		sk.s.abortf("socket %s: send: %v", sk.name, err)
	}
}

// wait returns the first frame after the previous wait's match that
// satisfies pred, waiting up to Options.WaitTimeout. A timeout aborts the
// scenario: what follows depends on the event that never came.
func (sk *socket) wait(desc string, pred func(wsMsg) bool) wsMsg {
	ctx, cancel := context.WithTimeout(sk.s.ctx, sk.s.opts.WaitTimeout)
	defer cancel()
	for {
		sk.mu.Lock()
		for i := sk.cursor; i < len(sk.msgs); i++ {
			if pred(sk.msgs[i]) {
				sk.cursor = i + 1
				m := sk.msgs[i]
				sk.mu.Unlock()
				return m
			}
		}
		changed := sk.changed
		sk.mu.Unlock()
		select {
		case <-changed:
		case <-sk.done:
			sk.s.abortf("socket %s: closed while waiting for %s", sk.name, desc)
		case <-ctx.Done():
			sk.s.abortf("socket %s: no %s within %s", sk.name, desc, sk.s.opts.WaitTimeout)
		}
	}
}

// close ends the socket the way the capture tool did, after giving the
// target the chance to deliver what the real server delivered: it waits
// (up to SettleTimeout) until as many frames arrived as in the golden, then
// pings, so frames already on the wire before the pong are recorded too.
func (sk *socket) close() {
	sk.mu.Lock()
	if sk.closed {
		sk.mu.Unlock()
		return
	}
	sk.closed = true
	sk.mu.Unlock()
	if sk.slot >= 0 {
		if !sk.s.discard {
			sk.settle(sk.s.expectedFrames(sk.slot))
			pctx, cancel := context.WithTimeout(sk.s.ctx, sk.s.opts.SettleTimeout)
			_ = sk.conn.Ping(pctx) // best effort: a target that never pongs still gets compared
			cancel()
		}
		sk.mu.Lock()
		sk.s.raw.WS[sk.slot].Events = append([]RawEvent(nil), sk.events...)
		sk.mu.Unlock()
	}
	_ = sk.conn.Close(websocket.StatusNormalClosure, "")
	sk.cancel()
	<-sk.done
}

func (sk *socket) settle(want int) {
	ctx, cancel := context.WithTimeout(sk.s.ctx, sk.s.opts.SettleTimeout)
	defer cancel()
	for {
		sk.mu.Lock()
		n, changed := len(sk.msgs), sk.changed
		sk.mu.Unlock()
		if n >= want {
			return
		}
		select {
		case <-changed:
		case <-sk.done:
			return
		case <-ctx.Done():
			return
		}
	}
}

// expectedFrames is how many frames the real server sent on the socket
// recorded in slot.
func (s *session) expectedFrames(slot int) int {
	if slot >= len(s.want.WS) {
		return 0
	}
	m, _ := s.want.WS[slot].(map[string]any)
	msgs, _ := m["messages"].([]any)
	n := 0
	for _, e := range msgs {
		if em, _ := e.(map[string]any); em["recv"] != nil {
			n++
		}
	}
	return n
}

// closeAll closes every socket still open, in the order they were opened.
func (s *session) closeAll() {
	for _, sk := range s.sockets {
		if sk.conn != nil {
			sk.close()
		}
	}
}

// Predicates over frames.

func isType(t string) func(wsMsg) bool {
	return func(m wsMsg) bool { return m.Type == t }
}

// executing matches {"type":"executing","data":{"node":node,"prompt_id":id}}.
func executing(id, node string) func(wsMsg) bool {
	return func(m wsMsg) bool {
		return m.Type == "executing" && m.Data["prompt_id"] == id && m.Data["node"] == node
	}
}

// finished matches the executing frame with node null that ends every run.
func finished(id string) func(wsMsg) bool {
	return func(m wsMsg) bool {
		n, present := m.Data["node"]
		return m.Type == "executing" && m.Data["prompt_id"] == id && present && n == nil
	}
}

// queueRemaining matches a status broadcast with the given count.
func queueRemaining(n int) func(wsMsg) bool {
	want := json.Number(fmt.Sprint(n))
	return func(m wsMsg) bool {
		st, _ := m.Data["status"].(map[string]any)
		ei, _ := st["exec_info"].(map[string]any)
		return m.Type == "status" && ei["queue_remaining"] == want
	}
}

// errWindowMissed reports that a slow node ended before the requests meant to
// happen while it ran were all answered: the machine was slower than the
// delay allowed for, so the run says nothing about the target.
var errWindowMissed = errors.New("the slow node ended before the requests meant to run during it were answered")

// window is the stretch of a slow node (of prompt id, seen on sk) during
// which a scenario issues requests; see session.during.
type window struct {
	sk    *socket
	id    string
	start int
}

// during marks the start of requests that the capture made while one
// prompt's slow node ran. It must follow the wait for that node's executing
// frame. Call end() after the last such request.
func (sk *socket) during(id string) window {
	sk.mu.Lock()
	defer sk.mu.Unlock()
	return window{sk: sk, id: id, start: sk.cursor}
}

// end aborts the attempt (so that runScenario retries it with a longer
// delay) if any frame of the prompt arrived since the window opened: then
// the node had already finished, and the order of what followed depends on
// the machine's speed, not on the target.
func (w window) end() {
	w.sk.mu.Lock()
	missed := false
	for _, m := range w.sk.msgs[w.start:] {
		if m.Data["prompt_id"] == w.id {
			missed = true
		}
	}
	w.sk.mu.Unlock()
	if missed {
		panic(abort{errWindowMissed})
	}
}
