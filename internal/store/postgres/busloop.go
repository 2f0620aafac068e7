package postgres

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// BusStats counts what a bus did since it was made.
type BusStats struct {
	Sent       uint64 // messages sent
	Notifies   uint64 // NOTIFY statements (frames) sent
	Bytes      uint64 // NOTIFY payload bytes sent
	Spilled    uint64 // messages written to bus_payloads
	SpillBytes uint64 // their bytes
	Received   uint64 // messages handed to handlers
	Dropped    uint64 // messages not sent (queue full, stopped, or the send failed)
	Resyncs    uint64 // listener reconnects
}

type busCounters struct {
	sent, notifies, bytes, spilled, spillBytes, received, dropped, resyncs atomic.Uint64
}

// Stats returns the bus's counters.
func (b *Bus) Stats() BusStats {
	c := &b.stats
	return BusStats{Sent: c.sent.Load(), Notifies: c.notifies.Load(), Bytes: c.bytes.Load(),
		Spilled: c.spilled.Load(), SpillBytes: c.spillBytes.Load(), Received: c.received.Load(),
		Dropped: c.dropped.Load(), Resyncs: c.resyncs.Load()}
}

// sendLoop sends what Send queues, in order, as few NOTIFYs as fit. When
// Stop closes b.closing it sends what is left and returns.
func (b *Bus) sendLoop(ctx context.Context) {
	defer close(b.sent)
	var buf []busMsg
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.closing:
			if err := b.sendAll(ctx, b.out.Close()); err != nil && ctx.Err() == nil {
				b.log.Warn("postgres bus: sending failed at stop; messages lost", "err", err)
			}
			return
		case <-b.out.Signal():
		}
		buf = b.out.Take(buf)
		if err := b.sendAll(ctx, buf); err != nil && ctx.Err() == nil {
			b.log.Warn("postgres bus: sending failed; messages lost", "err", err, "messages", len(buf))
		}
		clear(buf)
	}
}

// sendAll packs msgs into frames and notifies each. A failed frame is
// counted as dropped and the rest still go: a listener heals a gap from
// the tables, not from a resend.
func (b *Bus) sendAll(ctx context.Context, msgs []busMsg) error {
	w := frameWriter{origin: b.cfg.Origin}
	w.reset()
	var firstErr error
	flush := func() {
		if w.n == 0 {
			return
		}
		if err := b.notify(ctx, &w); err != nil && firstErr == nil {
			firstErr = err
		}
		w.reset()
	}
	for _, m := range msgs {
		if w.headerSize()+msgSize(m) > maxFrame {
			ref, err := b.spill(ctx, m)
			if err != nil {
				b.stats.dropped.Add(1)
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			m = busMsg{topic: m.topic, ref: ref}
		}
		if !w.fits(m) {
			flush()
		}
		w.add(m)
	}
	flush()
	return firstErr
}

func (b *Bus) notify(ctx context.Context, w *frameWriter) error {
	text := w.text()
	if _, err := b.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, b.channel, text); err != nil {
		b.stats.dropped.Add(uint64(w.n))
		return err
	}
	b.stats.notifies.Add(1)
	b.stats.sent.Add(uint64(w.n))
	b.stats.bytes.Add(uint64(len(text)))
	return nil
}

// spill stores a message too large for a NOTIFY and returns its row id.
func (b *Bus) spill(ctx context.Context, m busMsg) (int64, error) {
	var id int64
	if err := b.pool.QueryRow(ctx, `INSERT INTO bus_payloads (body) VALUES ($1) RETURNING id`, m.body).Scan(&id); err != nil {
		return 0, err
	}
	b.stats.spilled.Add(1)
	b.stats.spillBytes.Add(uint64(len(m.body)))
	return id, nil
}

// pruneLoop deletes spilled messages older than Retain. Every replica
// prunes; the deletes are idempotent.
func (b *Bus) pruneLoop(ctx context.Context) {
	t := time.NewTicker(b.cfg.Retain / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		_, err := b.pool.Exec(ctx, `DELETE FROM bus_payloads WHERE created_at < now() - make_interval(secs => $1)`,
			b.cfg.Retain.Seconds())
		if err != nil && ctx.Err() == nil {
			b.log.Warn("postgres bus: pruning spilled messages failed", "err", err)
		}
	}
}

// listenLoop hands notifications to the handlers, reconnecting (and
// resyncing) when the connection breaks.
func (b *Bus) listenLoop(ctx context.Context, conn *pgx.Conn) {
	backoff := 100 * time.Millisecond
	for {
		err := b.receive(ctx, conn)
		b.listening.Store(false)
		_ = conn.Close(context.WithoutCancel(ctx))
		if ctx.Err() != nil {
			return
		}
		b.log.Warn("postgres bus: listener lost its connection; reconnecting", "err", err)
		for conn = nil; conn == nil; {
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			if conn, err = b.listen(ctx); err != nil {
				backoff = min(2*backoff, reconnectMax)
				b.log.Warn("postgres bus: reconnecting the listener failed", "err", err)
			}
		}
		backoff = 100 * time.Millisecond
		b.runResync()
	}
}

// receive waits for notifications until the connection fails or ctx ends.
// A wait that times out checks the connection, so a dead one is noticed.
func (b *Bus) receive(ctx context.Context, conn *pgx.Conn) error {
	for {
		wctx, cancel := context.WithTimeout(ctx, listenPing)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded):
			if err := conn.Ping(ctx); err != nil {
				return err
			}
			continue
		case err != nil:
			return err
		}
		if err := b.dispatch(ctx, conn, n.Payload); err != nil {
			return err
		}
	}
}

// dispatch hands one frame's messages to their handlers. A frame that
// cannot be read, or a spilled message already pruned, is a loss like a
// dropped connection: the resync handlers run.
func (b *Bus) dispatch(ctx context.Context, conn *pgx.Conn, payload string) error {
	origin, msgs, err := parseFrame(payload)
	if err != nil {
		b.log.Warn("postgres bus: unreadable notification", "err", err)
		b.runResync()
		return nil
	}
	if origin == b.cfg.Origin {
		return nil
	}
	for _, m := range msgs {
		fn := b.handlers[m.topic]
		if fn == nil {
			continue
		}
		if m.ref > 0 {
			err := conn.QueryRow(ctx, `SELECT body FROM bus_payloads WHERE id = $1`, m.ref).Scan(&m.body)
			if errors.Is(err, pgx.ErrNoRows) {
				b.log.Warn("postgres bus: a spilled message was pruned before it was read", "id", m.ref)
				b.runResync()
				continue
			}
			if err != nil {
				return err
			}
		}
		b.stats.received.Add(1)
		fn(m.body)
	}
	return nil
}

func (b *Bus) runResync() {
	b.stats.resyncs.Add(1)
	for _, fn := range b.resync {
		fn()
	}
}
