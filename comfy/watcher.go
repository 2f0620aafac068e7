package comfy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// ConnState is the state reported by a ConnectionEvent.
type ConnState int

// Connection states.
const (
	StateDisconnected ConnState = iota
	StateConnected
)

func (s ConnState) String() string {
	if s == StateConnected {
		return "connected"
	}
	return "disconnected"
}

// EventConnection is the EventType of ConnectionEvent.
const EventConnection = "comfy.connection"

// ConnectionEvent is produced by a Watcher, never sent by ComfyUI: the socket
// went up or down. Events sent by ComfyUI while no socket was connected are
// lost, so on StateConnected after a drop a consumer should reconcile its
// prompts with GET /queue and GET /history/{id}.
type ConnectionEvent struct {
	State ConnState
	SID   string
	// Greeting is the server's opening status message (StateConnected).
	Greeting StatusData
	// Err is why the connection ended or a dial failed (StateDisconnected).
	Err error
	// Attempt counts dial attempts since the last successful connection.
	Attempt int
}

// EventType implements Event.
func (ConnectionEvent) EventType() string { return EventConnection }

// WatcherConfig configures a Watcher.
type WatcherConfig struct {
	// BaseURL of the ComfyUI server. Required.
	BaseURL string
	// ClientID is used for every connection. Required: the point of a Watcher
	// is a stable id that prompts can be posted with.
	ClientID string
	// Dial options for each connection.
	Dial DialOptions
	// DialTimeout bounds one dial including the greeting (default 30s).
	DialTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait between attempts (defaults
	// 500ms and 30s). The wait doubles per failure, with jitter.
	MinBackoff, MaxBackoff time.Duration
	// PingInterval is how often the connection is pinged to detect a dead
	// peer (default 30s; negative disables).
	PingInterval time.Duration
	// Buffer is the capacity of the Events channel (default 1024). ComfyUI
	// sends to all sockets from one queue, so a consumer that stops reading
	// delays every client of that server.
	Buffer int
	// Logger (default: discard).
	Logger *slog.Logger
}

func (c *WatcherConfig) withDefaults() (WatcherConfig, error) {
	cfg := *c
	if cfg.BaseURL == "" || cfg.ClientID == "" {
		return cfg, errors.New("watcher: BaseURL and ClientID are required")
	}
	if _, err := wsURL(cfg.BaseURL, cfg.ClientID, false); err != nil {
		return cfg, fmt.Errorf("watcher: %w", err)
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 30 * time.Second
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 500 * time.Millisecond
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(30*time.Second, cfg.MinBackoff)
	}
	if cfg.PingInterval == 0 {
		cfg.PingInterval = 30 * time.Second
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = 1024
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg, nil
}

// Watcher keeps one WebSocket connection per client id open to a ComfyUI
// server, redialling with backoff. It never holds two sockets with its id: an
// old socket is closed, and its close waited for, before the next dial
// (ComfyUI's cleanup of an old socket unregisters a newer one with the same
// id).
type Watcher struct {
	cfg    WatcherConfig
	events chan Event
	cancel context.CancelFunc
	done   chan struct{}

	mu  sync.Mutex // guards sid
	sid string
}

// StartWatcher starts watching. The Watcher runs until Close is called or ctx
// ends; then Events is closed.
func StartWatcher(ctx context.Context, cfg WatcherConfig) (*Watcher, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	w := &Watcher{cfg: cfg, events: make(chan Event, cfg.Buffer), cancel: cancel, done: make(chan struct{})}
	go w.run(ctx)
	return w, nil
}

// Events delivers ComfyUI events in order, with ConnectionEvents between
// connections. It is closed when the Watcher stops.
func (w *Watcher) Events() <-chan Event { return w.events }

// ClientID is the id every connection uses.
func (w *Watcher) ClientID() string { return w.cfg.ClientID }

// Connected reports whether a socket is currently open.
func (w *Watcher) Connected() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sid != ""
}

// Close stops the Watcher, closes its socket and waits for its goroutine.
// Events is closed afterwards; undelivered events are dropped.
func (w *Watcher) Close() error {
	w.cancel()
	<-w.done
	return nil
}

func (w *Watcher) run(ctx context.Context) {
	defer close(w.done)
	defer close(w.events)
	attempt := 0
	for ctx.Err() == nil {
		attempt++
		conn, err := w.dial(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			w.cfg.Logger.Warn("comfy websocket dial failed", "attempt", attempt, "err", err)
			w.emit(ctx, ConnectionEvent{State: StateDisconnected, Err: err, Attempt: attempt})
			w.wait(ctx, attempt)
			continue
		}
		attempt = 0
		err = w.serve(ctx, conn)
		if ctx.Err() != nil {
			return
		}
		w.cfg.Logger.Warn("comfy websocket lost", "sid", conn.SID(), "err", err)
		w.emit(ctx, ConnectionEvent{State: StateDisconnected, SID: conn.SID(), Err: err})
		w.wait(ctx, 1)
	}
}

func (w *Watcher) dial(ctx context.Context) (*Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, w.cfg.DialTimeout)
	defer cancel()
	return Dial(dctx, w.cfg.BaseURL, w.cfg.ClientID, w.cfg.Dial)
}

// serve reads one connection until it fails or ctx ends, then closes it and
// waits for the close to finish.
func (w *Watcher) serve(ctx context.Context, conn *Conn) error {
	w.setSID(conn.SID())
	defer w.setSID("")
	cctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
		conn.Close()
	}()
	if w.cfg.PingInterval > 0 {
		wg.Go(func() { w.pingLoop(cctx, conn) })
	}
	w.emit(ctx, ConnectionEvent{State: StateConnected, SID: conn.SID(), Greeting: conn.Greeting()})
	for {
		ev, err := conn.Read(ctx)
		if err != nil {
			var me *MessageError
			if errors.As(err, &me) {
				w.cfg.Logger.Warn("comfy websocket: undecodable message", "err", err)
				continue
			}
			return err
		}
		if !w.emit(ctx, ev) {
			return ctx.Err()
		}
	}
}

func (w *Watcher) pingLoop(ctx context.Context, conn *Conn) {
	t := time.NewTicker(w.cfg.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, w.cfg.PingInterval)
		err := conn.Ping(pctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			w.cfg.Logger.Warn("comfy websocket ping failed", "err", err)
			conn.CloseNow() // makes the pending Read fail
			return
		}
	}
}

func (w *Watcher) setSID(sid string) {
	w.mu.Lock()
	w.sid = sid
	w.mu.Unlock()
}

// emit delivers ev unless ctx ends first.
func (w *Watcher) emit(ctx context.Context, ev Event) bool {
	select {
	case w.events <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

// wait sleeps for the backoff of the given attempt, or until ctx ends.
func (w *Watcher) wait(ctx context.Context, attempt int) {
	d := w.cfg.MinBackoff
	for i := 1; i < attempt && d < w.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, w.cfg.MaxBackoff)
	d = d/2 + rand.N(d/2+1) // jitter: [d/2, d]
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
