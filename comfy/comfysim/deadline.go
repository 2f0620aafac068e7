package comfysim

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"
)

// A request body must keep arriving: a client that stops sending, or
// trickles bytes to hold a connection and a handler, is cut off. Each read
// of a body may wait at most ReadTimeout, and the whole body must average
// MinBodyRate after its first ReadTimeout, so a large upload over a slow
// but honest link still gets through. A client cut off gets no answer: the
// connection is closed, as a proxy in front of ComfyUI would.

// bodyDeadline is a request body whose reads extend the connection's read
// deadline as data arrives.
type bodyDeadline struct {
	body     io.ReadCloser
	rc       *http.ResponseController
	timeout  time.Duration
	rate     int64 // bytes a second
	started  time.Time
	n        int64
	expired  bool
	disabled bool // the connection cannot take deadlines
}

type bodyDeadlineKey struct{}

// limitBodies installs the body deadlines on every request with a body.
func (s *Server) limitBodies(next http.Handler) http.Handler {
	timeout, rate := s.opts.readTimeout(), s.opts.minBodyRate()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		b := &bodyDeadline{body: r.Body, rc: http.NewResponseController(w), timeout: timeout, rate: rate, started: time.Now()}
		b.extend()
		r.Body = b
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), bodyDeadlineKey{}, b)))
	})
}

// extend sets the deadline for the next read: ReadTimeout from now, but no
// later than the minimum rate allows for what has arrived so far.
func (b *bodyDeadline) extend() {
	if b.disabled {
		return
	}
	byRate := b.started.Add(b.timeout + time.Duration(float64(b.n)/float64(b.rate)*float64(time.Second)))
	d := time.Now().Add(b.timeout)
	if byRate.Before(d) {
		d = byRate
	}
	if err := b.rc.SetReadDeadline(d); err != nil {
		b.disabled = true // not a net/http connection (a test recorder)
	}
}

func (b *bodyDeadline) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	b.n += int64(n)
	switch {
	case err == io.EOF:
		if !b.disabled {
			_ = b.rc.SetReadDeadline(time.Time{}) // the handler's own work is not bounded here
		}
	case err != nil:
		if !b.disabled && isTimeout(err) {
			b.expired = true
		}
	default:
		b.extend()
	}
	return n, err
}

func (b *bodyDeadline) Close() error { return b.body.Close() }

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// bodyTimedOut reports whether r's body was cut off by its deadline.
func bodyTimedOut(r *http.Request) bool {
	b, ok := r.Context().Value(bodyDeadlineKey{}).(*bodyDeadline)
	return ok && b.expired
}

// dropConn closes the client's connection without an answer.
func dropConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // net/http's own way to drop a connection
	}
	_ = conn.Close()
}
