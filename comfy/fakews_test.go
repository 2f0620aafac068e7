package comfy

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// fakeWS is a ComfyUI-like WebSocket endpoint: it greets every connection
// with a status carrying sid, answers a first feature_flags message, then runs
// the test's script. It fails the test if two connections with one clientId
// are open at once.
type fakeWS struct {
	tb  testing.TB
	srv *httptest.Server
	// script runs after the greeting; the connection then stays open until
	// the client closes it.
	script func(ctx context.Context, c *websocket.Conn, sid string)
	// noFlagsReply makes the server behave like a pre-2025-07 ComfyUI.
	noFlagsReply bool
	// deaf makes the server ignore pings, like a hung peer.
	deaf bool

	mu       sync.Mutex               // guards the fields below
	open     map[string]chan struct{} // clientId → closed when its handler ends
	accepted []http.Header
	received []Event
	conns    []*websocket.Conn
	arrivals chan string // sid of each accepted connection
	recvd    chan Event  // every event a client sent, as it arrives
}

func newFakeWS(tb testing.TB, script func(ctx context.Context, c *websocket.Conn, sid string)) *fakeWS {
	tb.Helper()
	f := &fakeWS{tb: tb, script: script, open: map[string]chan struct{}{}, arrivals: make(chan string, 100), recvd: make(chan Event, 100)}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	tb.Cleanup(f.srv.Close)
	return f
}

func (f *fakeWS) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/ws" && r.URL.Path != "/api/ws" && r.URL.Path != "/prefix/ws" {
		http.NotFound(w, r)
		return
	}
	if o := r.Header.Get("Origin"); o != "" {
		f.tb.Errorf("websocket upgrade carried Origin %q", o)
	}
	sid := r.URL.Query().Get("clientId")
	if sid == "" {
		sid = "0123456789abcdef0123456789abcdef"
	}
	done := f.register(sid)
	defer close(done)
	opts := &websocket.AcceptOptions{}
	if f.deaf {
		opts.OnPingReceived = func(context.Context, []byte) bool { return false }
	}
	c, err := websocket.Accept(w, r, opts)
	if err != nil {
		f.tb.Errorf("accept: %v", err)
		return
	}
	defer c.CloseNow()
	f.mu.Lock()
	f.accepted = append(f.accepted, r.Header.Clone())
	f.conns = append(f.conns, c)
	f.mu.Unlock()
	f.arrivals <- sid

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	greeting, _ := EncodeMessage(StatusData{Sid: &sid})
	if err := c.Write(ctx, websocket.MessageText, greeting); err != nil {
		return
	}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		defer cancel()
		f.readLoop(ctx, c)
	}()
	if f.script != nil {
		f.script(ctx, c, sid)
	}
	<-readDone
}

// register marks sid open. A second open socket with the same id is only
// acceptable if the first is already on its way out; it gets a generous bound
// to finish (this bounds a hang, it does not time anything).
func (f *fakeWS) register(sid string) chan struct{} {
	f.mu.Lock()
	prev := f.open[sid]
	f.mu.Unlock()
	if prev != nil {
		select {
		case <-prev:
		case <-time.After(10 * time.Second):
			f.tb.Errorf("two live sockets with clientId %q", sid)
		}
	}
	done := make(chan struct{})
	f.mu.Lock()
	f.open[sid] = done
	f.mu.Unlock()
	go func() {
		<-done
		f.mu.Lock()
		if f.open[sid] == done {
			delete(f.open, sid)
		}
		f.mu.Unlock()
	}()
	return done
}

// readLoop answers the first feature_flags message, as ComfyUI does, and
// records what the client sent.
func (f *fakeWS) readLoop(ctx context.Context, c *websocket.Conn) {
	first := true
	for {
		typ, data, err := c.Read(ctx)
		if err != nil {
			return
		}
		ev, err := DecodeFrame(Frame{Binary: typ == websocket.MessageBinary, Data: data})
		if err != nil {
			continue
		}
		f.mu.Lock()
		f.received = append(f.received, ev)
		f.mu.Unlock()
		select {
		case f.recvd <- ev:
		default:
		}
		if _, ok := ev.(FeatureFlags); ok && first && !f.noFlagsReply {
			reply, _ := EncodeMessage(FeatureFlags{FlagSupportsPreviewMetadata: true, FlagMaxUploadSize: 104857600})
			c.Write(ctx, websocket.MessageText, reply)
		}
		first = false
	}
}

// dropAll closes every server-side connection, like a ComfyUI restart.
func (f *fakeWS) dropAll() {
	f.mu.Lock()
	conns := f.conns
	f.conns = nil
	f.mu.Unlock()
	for _, c := range conns {
		c.CloseNow()
	}
}

func (f *fakeWS) waitArrival(tb testing.TB) string {
	tb.Helper()
	select {
	case sid := <-f.arrivals:
		return sid
	case <-time.After(time.Minute):
		tb.Fatal("no connection arrived")
		return ""
	}
}

// connTracker is an HTTP client whose connections are counted, so a test can
// see, on the client side, whether a dial happened while an earlier
// connection was still open.
type connTracker struct {
	tb testing.TB

	mu      sync.Mutex // guards the fields below
	live    int
	dials   int
	overlap int
}

func (ct *connTracker) client() *http.Client {
	d := &net.Dialer{}
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			ct.mu.Lock()
			ct.dials++
			if ct.live > 0 {
				ct.overlap++
			}
			ct.mu.Unlock()
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			ct.mu.Lock()
			ct.live++
			ct.mu.Unlock()
			return &trackedConn{Conn: c, ct: ct}, nil
		},
	}}
}

type trackedConn struct {
	net.Conn
	ct   *connTracker
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.ct.mu.Lock()
		c.ct.live--
		c.ct.mu.Unlock()
	})
	return c.Conn.Close()
}

func (ct *connTracker) stats() (dials, overlap int) {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	return ct.dials, ct.overlap
}
