// Package hub is the simulator's WebSocket client table: it routes frames to
// sockets by client id exactly the way ComfyUI's PromptServer does, and it
// keeps one slow socket from stalling everybody else.
//
// ComfyUI keys sockets by client id in a dict. A second socket with the same
// id replaces the first in that dict without closing it (the first stays open
// and silent), and when any socket closes its cleanup deletes whatever entry
// its id has, even the newer socket's. Clients built against real ComfyUI
// trip over these quirks, so the hub reproduces them.
//
// Unlike ComfyUI, which awaits every send in one queue, each socket here has a
// bounded outgoing buffer drained by its own writer goroutine. A socket whose
// buffer overflows, or whose write times out, is closed.
package hub

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Frame is one WebSocket message ready to send.
type Frame struct {
	Binary bool
	Data   []byte
}

// Options tune a Hub. Zero values pick the defaults noted on each field.
type Options struct {
	// BufferFrames is the number of frames queued per socket before the
	// socket is considered stuck and closed. Default 4096.
	BufferFrames int
	// BufferBytes is the number of queued bytes per socket before the socket
	// is closed. Default 64 MiB.
	BufferBytes int
	// WriteTimeout bounds one frame write. Default 10s.
	WriteTimeout time.Duration
	// ReadLimit is the largest client message accepted. Default 4 MiB, like
	// aiohttp.
	ReadLimit int64
	// ServerFlags is the data of the feature_flags reply.
	ServerFlags []byte
	// Logger receives connection events. Default: discard.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.BufferFrames <= 0 {
		o.BufferFrames = 4096
	}
	if o.BufferBytes <= 0 {
		o.BufferBytes = 64 << 20
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.ReadLimit <= 0 {
		o.ReadLimit = 4 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Hub is the client table. The zero value is not usable; call New.
type Hub struct {
	opts Options

	mu      sync.Mutex // guards the fields below
	sockets map[string]*Conn
	all     map[*Conn]struct{}
	paused  bool
	resume  chan struct{} // closed when a pause ends

	wg sync.WaitGroup // writer goroutines
}

// New returns an empty hub.
func New(opts Options) *Hub {
	return &Hub{
		opts:    opts.withDefaults(),
		sockets: make(map[string]*Conn),
		all:     make(map[*Conn]struct{}),
	}
}

// Conn is one accepted socket.
type Conn struct {
	hub *Hub
	ws  *websocket.Conn
	sid string

	out    chan Frame
	ctx    context.Context // cancelled to make the writer close the socket
	cancel context.CancelFunc
	done   chan struct{} // closed when the writer has exited

	// guarded by hub.mu
	queued int
	flags  map[string]any
}

// SID is the client id the socket registered with.
func (c *Conn) SID() string { return c.sid }

// ErrClosed is returned for operations on a closed hub connection.
var ErrClosed = errors.New("hub: connection closed")

// Accept upgrades the request. Origin checks are the caller's job (ComfyUI
// only checks loopback hosts), so the library's own check is off. The stray
// Content-Type of aiohttp's 101 response is reproduced.
func (h *Hub) Accept(w http.ResponseWriter, r *http.Request) (*websocket.Conn, error) {
	w.Header().Set("Content-Type", "application/octet-stream")
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(h.opts.ReadLimit)
	return ws, nil
}

// Register puts ws into the table under sid, replacing (but not closing) any
// socket already registered with that id, queues first (the greeting) ahead
// of anything else, and starts the socket's writer. The caller must then call
// Run.
func (h *Hub) Register(ws *websocket.Conn, sid string, first []Frame) *Conn {
	ctx, cancel := context.WithCancel(context.Background())
	c := &Conn{
		hub:    h,
		ws:     ws,
		sid:    sid,
		out:    make(chan Frame, h.opts.BufferFrames),
		ctx:    ctx,
		cancel: cancel,
		done:   make(chan struct{}),
	}
	h.mu.Lock()
	h.sockets[sid] = c
	h.all[c] = struct{}{}
	for _, f := range first {
		h.enqueueLocked(c, f)
	}
	h.mu.Unlock()
	h.wg.Add(1)
	go c.writeLoop()
	return c
}

// Run reads the socket until it closes, answering the feature_flags
// negotiation, then unregisters it (deleting its id's entry even if another
// socket took it over, as ComfyUI does) and waits for its writer.
func (c *Conn) Run(ctx context.Context) {
	defer c.cleanup()
	first := true
	for {
		typ, data, err := c.ws.Read(ctx)
		if err != nil {
			return
		}
		if typ != websocket.MessageText {
			continue
		}
		first = c.handleText(data, first)
	}
}

func (c *Conn) cleanup() {
	h := c.hub
	h.mu.Lock()
	delete(h.sockets, c.sid)
	delete(h.all, c)
	h.mu.Unlock()
	c.stop()
	<-c.done
	_ = c.ws.CloseNow()
}

// stop asks the writer to close the socket without a handshake.
func (c *Conn) stop() { c.cancel() }

func (c *Conn) writeLoop() {
	h := c.hub
	defer h.wg.Done()
	defer close(c.done)
	for {
		select {
		case <-c.ctx.Done():
			_ = c.ws.CloseNow()
			return
		case f := <-c.out:
			if !h.waitUnpaused(c.ctx.Done()) {
				_ = c.ws.CloseNow()
				return
			}
			h.mu.Lock()
			c.queued -= len(f.Data)
			h.mu.Unlock()
			if err := c.write(f); err != nil {
				h.opts.Logger.Debug("websocket write failed", "sid", c.sid, "err", err)
				_ = c.ws.CloseNow()
				return
			}
		}
	}
}

func (c *Conn) write(f Frame) error {
	ctx, cancel := context.WithTimeout(c.ctx, c.hub.opts.WriteTimeout)
	defer cancel()
	typ := websocket.MessageText
	if f.Binary {
		typ = websocket.MessageBinary
	}
	return c.ws.Write(ctx, typ, f.Data)
}
