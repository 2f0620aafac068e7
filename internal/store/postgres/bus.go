package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/comfygate/comfygate/internal/lifecycle"
	"github.com/comfygate/comfygate/internal/mailbox"
)

// Bus carries messages between the replicas that share one database, over
// LISTEN/NOTIFY: job events to the replica a client streams from, the
// backends' raw messages to the ComfyUI-compatible sockets, and the
// fleet's signals (a job queued, a backend released, a cancel).
//
// Sending never blocks: messages queue in memory and one goroutine packs
// them, in order, into as few NOTIFYs as fit (a payload is text of under
// 8000 bytes). A message too large for a NOTIFY of its own (a preview) is
// written to bus_payloads and the notification carries the row's id;
// rows are pruned after Retain. One dedicated connection LISTENs, and
// hands each message to the handler of its topic, in the order sent.
//
// NOTIFY is at-most-once: a listener that loses its connection misses what
// was sent meanwhile. After reconnecting the bus calls the resync
// handlers, which make up for it from the tables (the durable events, the
// queue), as they must for anything the bus carries that matters.
type Bus struct {
	cfg     BusConfig
	pool    *pgxpool.Pool
	channel string
	log     *slog.Logger

	handlers map[string]func([]byte) // by topic; fixed at Start
	resync   []func()

	out     *mailbox.Mailbox[busMsg]
	closing chan struct{} // closed by Stop: send what is left and return
	sent    chan struct{} // closed when the send loop returned
	life    lifecycle.Lifecycle
	wg      sync.WaitGroup

	listening atomic.Bool
	stats     busCounters
}

// BusConfig configures a Bus. Zero values take the documented defaults.
type BusConfig struct {
	// Origin names this replica; its own messages are not handed back to
	// it. Required.
	Origin string
	// Channel is the NOTIFY channel. Default "comfygate:" + the schema the
	// store's tables are in, so that stores in different schemas of one
	// database do not hear each other.
	Channel string
	// Retain is how long a spilled message stays in bus_payloads for the
	// listeners to read. Default 1 minute.
	Retain time.Duration
	// MaxQueued bounds the droppable messages waiting to be sent; others
	// (Send's droppable false) always queue. Default 65536.
	MaxQueued int
	// Logger. Default: discard.
	Logger *slog.Logger
}

// Bus defaults.
const (
	DefaultBusRetain    = time.Minute
	DefaultBusMaxQueued = 1 << 16
	// listenPing bounds how long the listener waits for a notification
	// before it checks that its connection still answers.
	listenPing = 30 * time.Second
	// reconnectMax caps the listener's reconnect backoff.
	reconnectMax = 5 * time.Second
)

// NewBus returns a bus over the store's connections, not started yet.
// From then on the store's Ping also checks that the bus listens.
func NewBus(s *Store, cfg BusConfig) (*Bus, error) {
	if cfg.Origin == "" {
		return nil, errors.New("postgres bus: Origin is required")
	}
	if cfg.Retain <= 0 {
		cfg.Retain = DefaultBusRetain
	}
	if cfg.MaxQueued <= 0 {
		cfg.MaxQueued = DefaultBusMaxQueued
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	b := &Bus{cfg: cfg, pool: s.pool, log: cfg.Logger, handlers: map[string]func([]byte){},
		out: mailbox.New[busMsg](cfg.MaxQueued), closing: make(chan struct{}), sent: make(chan struct{})}
	s.bus.Store(b)
	return b, nil
}

// Handle sets the handler of topic. Handlers run on the listener's
// goroutine, one message at a time in the order sent, and must not block
// for long. Call it before Start.
func (b *Bus) Handle(topic string, fn func(body []byte)) { b.handlers[topic] = fn }

// OnResync adds a function called after the listener reconnected: messages
// sent while it was away are lost. Call it before Start.
func (b *Bus) OnResync(fn func()) { b.resync = append(b.resync, fn) }

// Send queues body for every other replica's handler of topic. It never
// blocks. It reports false when the message was dropped: the bus is
// stopped, or droppable is set and MaxQueued messages wait.
func (b *Bus) Send(topic string, body []byte, droppable bool) bool {
	ok := b.out.Push(busMsg{topic: topic, body: body}, droppable)
	if !ok {
		b.stats.dropped.Add(1)
	}
	return ok
}

// Start listens, and returns once the listener is subscribed: every
// message sent after it returns is heard.
func (b *Bus) Start(ctx context.Context) error { return b.life.Start(ctx, b.start) }

func (b *Bus) start(lctx context.Context) error {
	ch, err := b.channelName(lctx)
	if err != nil {
		return err
	}
	b.channel = ch
	conn, err := b.listen(lctx)
	if err != nil {
		return err
	}
	b.wg.Go(func() { b.listenLoop(lctx, conn) })
	b.wg.Go(func() { b.sendLoop(lctx) })
	b.wg.Go(func() { b.pruneLoop(lctx) })
	return nil
}

// Stop sends what is queued (until ctx ends), then closes the listener.
// Later Sends are dropped.
func (b *Bus) Stop(ctx context.Context) error {
	return b.life.Stop(ctx, func(ctx context.Context) error {
		close(b.closing)
		var err error
		select {
		case <-b.sent:
		case <-ctx.Done():
			err = fmt.Errorf("postgres bus: stop: %w", ctx.Err())
		}
		b.life.Cancel()
		b.wg.Wait()
		return err
	})
}

// Ready reports whether the listener is connected: while it is not, this
// replica misses what the others send.
func (b *Bus) Ready() error {
	if !b.listening.Load() {
		return errors.New("postgres bus: not listening")
	}
	return nil
}

// channelName is the configured channel or the schema's default.
func (b *Bus) channelName(ctx context.Context) (string, error) {
	if b.cfg.Channel != "" {
		return b.cfg.Channel, nil
	}
	var schema string
	if err := b.pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return "", fmt.Errorf("postgres bus: read schema: %w", err)
	}
	ch := "comfygate:" + schema
	if len(ch) > 63 { // NAMEDATALEN - 1: PostgreSQL would truncate it
		ch = ch[:63]
	}
	return ch, nil
}

// listen opens the dedicated listening connection.
func (b *Bus) listen(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, b.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("postgres bus: connect listener: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{b.channel}.Sanitize()); err != nil {
		_ = conn.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("postgres bus: listen: %w", err)
	}
	b.listening.Store(true)
	return conn, nil
}
