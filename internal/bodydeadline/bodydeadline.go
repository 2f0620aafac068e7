// Package bodydeadline cuts off request bodies that stop arriving. Each
// read of a body may wait at most Limits.Timeout, and the whole body must
// average Limits.MinRate bytes a second once its first Timeout has passed:
// a large upload over a slow but steady link gets through, a client that
// trickles bytes to hold a connection and a handler does not.
//
// The deadlines are the connection's read deadlines, set through
// http.ResponseController, so a cut-off read returns at once instead of
// waiting for bytes that do not come. The clock starts at the body's
// first read: time a handler spends before it reads (waiting for its
// turn) does not count against the client. Once the body is read to its
// end net/http lifts the deadline as it starts watching the connection
// for the client going away, so a handler that works on is not cut off.
// The gateway and the simulator both use it.
package bodydeadline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Limits are the pace a body must keep.
type Limits struct {
	// Timeout is the longest one read may wait for bytes, and the grace
	// before MinRate applies.
	Timeout time.Duration
	// MinRate is the slowest average, in bytes a second, a body may arrive
	// at once its first Timeout has passed.
	MinRate int64
}

// ErrExpired is a read cut off by its deadline. It wraps context.Canceled:
// the request is given up as if its client had gone, which the surfaces
// answer with silence rather than as a failure of their own.
var ErrExpired = fmt.Errorf("request body stopped arriving: %w", context.Canceled)

// Body is a request body under Limits.
type Body struct {
	body     io.ReadCloser
	rc       *http.ResponseController
	lim      Limits
	onExpire func()
	started  time.Time // the first read; zero before
	n        int64     // bytes read
	expired  bool
	ended    bool // read to its end
	disabled bool // the connection takes no deadlines (a test recorder)
}

// Wrap puts r's body under lim; w is r's ResponseWriter, whose connection
// the deadlines are set on. onExpire (nil for none) runs once, on the
// read that the deadline cuts off. The caller installs the result as
// r.Body.
func Wrap(w http.ResponseWriter, r *http.Request, lim Limits, onExpire func()) *Body {
	return &Body{body: r.Body, rc: http.NewResponseController(w), lim: lim, onExpire: onExpire}
}

// Expired reports whether the deadline cut the body off.
func (b *Body) Expired() bool { return b.expired }

func (b *Body) Read(p []byte) (int, error) {
	if b.expired {
		return 0, ErrExpired
	}
	b.arm()
	n, err := b.body.Read(p)
	b.n += int64(n)
	b.ended = b.ended || errors.Is(err, io.EOF)
	if err != nil && !errors.Is(err, io.EOF) && !b.disabled && isTimeout(err) {
		b.expired = true
		if b.onExpire != nil {
			b.onExpire()
		}
		return n, ErrExpired
	}
	return n, err
}

// arm sets the deadline of the next read: Timeout from now, but no later
// than MinRate allows for what has arrived so far.
func (b *Body) arm() {
	if b.disabled {
		return
	}
	now := time.Now()
	if b.started.IsZero() {
		b.started = now
	}
	d := now.Add(b.lim.Timeout)
	if b.lim.MinRate > 0 {
		byRate := b.started.Add(b.lim.Timeout + time.Duration(float64(b.n)/float64(b.lim.MinRate)*float64(time.Second)))
		if byRate.Before(d) {
			d = byRate
		}
	}
	if err := b.rc.SetReadDeadline(d); err != nil {
		b.disabled = true
	}
}

// StopReading makes further reads of the connection fail at once if the
// body was not read to its end; call it when the handler has returned.
// Before it answers, net/http reads what is left of a body the handler
// did not read (up to 256 KB, to keep the connection), at whatever pace
// the client sends it and with no deadline of its own: a client that
// stops sending would hold the answer and the connection. Cut off, the
// rest is not read and the connection is closed after the answer.
func (b *Body) StopReading() {
	if !b.ended && !b.disabled {
		_ = b.rc.SetReadDeadline(time.Now())
	}
}

// Close closes the body it wraps.
func (b *Body) Close() error { return b.body.Close() }

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
