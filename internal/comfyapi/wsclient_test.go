package comfyapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// testSocket is a ComfyUI-style client socket: a reader goroutine (stopped
// and awaited by close) records every frame, and wait blocks on a
// condition over them, never on time.
type testSocket struct {
	tb     testing.TB
	conn   *websocket.Conn
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex // guards the fields below
	msgs    []wsMsg
	changed chan struct{}
	cursor  int
}

// wsMsg is a received frame; binary frames have Binary set and no Type.
type wsMsg struct {
	Type   string         `json:"type"`
	Data   map[string]any `json:"data"`
	Binary []byte         `json:"-"`
	Raw    string         `json:"-"`
}

// dialWS opens base/ws?clientId=id with header h and waits for the greeting.
func dialWS(tb testing.TB, base, query string, h http.Header) *testSocket {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	conn, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/ws"+query, &websocket.DialOptions{HTTPHeader: h})
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		cancel()
		tb.Fatalf("dial %s: %v", query, err)
	}
	conn.SetReadLimit(64 << 20)
	s := &testSocket{tb: tb, conn: conn, cancel: cancel, done: make(chan struct{}), changed: make(chan struct{})}
	go s.read(ctx)
	tb.Cleanup(s.close)
	s.wait("greeting", func(m wsMsg) bool { return m.Type == "status" })
	return s
}

// dialStatus returns the HTTP status of a refused upgrade (101 if accepted).
func dialStatus(tb testing.TB, base, query string, h http.Header) int {
	tb.Helper()
	conn, resp, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(base, "http")+"/ws"+query, &websocket.DialOptions{HTTPHeader: h})
	if err == nil {
		conn.CloseNow()
		return http.StatusSwitchingProtocols
	}
	if resp == nil {
		tb.Fatalf("dial %s: %v", query, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func (s *testSocket) read(ctx context.Context) {
	defer close(s.done)
	for {
		typ, b, err := s.conn.Read(ctx)
		if err != nil {
			return
		}
		var m wsMsg
		if typ == websocket.MessageBinary {
			m.Binary = b
		} else {
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.UseNumber()
			_ = dec.Decode(&m)
			m.Raw = string(b)
		}
		s.mu.Lock()
		s.msgs = append(s.msgs, m)
		close(s.changed)
		s.changed = make(chan struct{})
		s.mu.Unlock()
	}
}

// waitTimeout is only reached when the server under test misbehaves.
const waitTimeout = 30 * time.Second

// wait returns the first frame after the previous wait's match that
// satisfies pred.
func (s *testSocket) wait(desc string, pred func(wsMsg) bool) wsMsg {
	s.tb.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		for i := s.cursor; i < len(s.msgs); i++ {
			if pred(s.msgs[i]) {
				s.cursor = i + 1
				m := s.msgs[i]
				s.mu.Unlock()
				return m
			}
		}
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-s.done:
			s.tb.Fatalf("socket closed while waiting for %s", desc)
		case <-deadline.C:
			s.tb.Fatalf("no %s within %s", desc, waitTimeout)
		}
	}
}

// all returns every frame received so far.
func (s *testSocket) all() []wsMsg {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]wsMsg(nil), s.msgs...)
}

func (s *testSocket) send(v any) {
	b, _ := json.Marshal(v)
	if err := s.conn.Write(context.Background(), websocket.MessageText, b); err != nil {
		s.tb.Fatalf("send: %v", err)
	}
}

func (s *testSocket) close() {
	_ = s.conn.Close(websocket.StatusNormalClosure, "")
	s.cancel()
	<-s.done
}

// finished matches the "executing" with node null that ends prompt id.
func finished(id string) func(wsMsg) bool {
	return func(m wsMsg) bool {
		n, present := m.Data["node"]
		return m.Type == "executing" && m.Data["prompt_id"] == id && present && n == nil
	}
}

func executingNode(id, node string) func(wsMsg) bool {
	return func(m wsMsg) bool {
		return m.Type == "executing" && m.Data["prompt_id"] == id && m.Data["node"] == node
	}
}
