package bodydeadline

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// outcome is what the handler saw of a body.
type outcome struct {
	n        int
	err      error
	expired  bool
	called   bool // onExpire ran
	ctxAfter error
}

// serve runs a server whose handler reads the body under lim, then (when
// linger > 0) works on for linger and reports whether its request was
// cancelled meanwhile.
func serve(t *testing.T, lim Limits, linger time.Duration) (string, chan outcome) {
	t.Helper()
	got := make(chan outcome, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var o outcome
		b := Wrap(w, r, lim, func() { o.called = true })
		r.Body = b
		data, err := io.ReadAll(r.Body)
		o.n, o.err, o.expired = len(data), err, b.Expired()
		if linger > 0 && err == nil {
			select {
			case <-r.Context().Done():
			case <-time.After(linger): // the handler's own long work
			}
			o.ctxAfter = r.Context().Err()
		}
		got <- o
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), got
}

// send writes a request with a body of size bytes, in pieces of piece
// bytes every pause, stopping after stopAfter bytes (-1: never).
func send(t *testing.T, addr string, size, piece int, pause time.Duration, stopAfter int) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", size)
	go func() {
		tick := time.NewTicker(pause)
		defer tick.Stop()
		for sent := 0; sent < size; sent += piece {
			if stopAfter >= 0 && sent >= stopAfter {
				return
			}
			if _, err := conn.Write([]byte(strings.Repeat("x", min(piece, size-sent)))); err != nil {
				return
			}
			<-tick.C
		}
	}()
	return conn
}

func TestBodyDeadlines(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		lim         Limits
		size, piece int
		pause       time.Duration
		stopAfter   int
		wantExpired bool
	}{
		{"a body that stops is cut off", Limits{Timeout: 300 * time.Millisecond, MinRate: 1 << 20}, 100, 10, time.Millisecond, 30, true},
		{"a trickle below the rate is cut off", Limits{Timeout: 300 * time.Millisecond, MinRate: 100}, 1000, 1, 40 * time.Millisecond, -1, true},
		{"a steady body slower than the timeout in total gets through", Limits{Timeout: time.Second, MinRate: 100}, 3000, 25, 20 * time.Millisecond, -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr, got := serve(t, tt.lim, 0)
			send(t, addr, tt.size, tt.piece, tt.pause, tt.stopAfter)
			o := <-got
			if tt.wantExpired {
				if !errors.Is(o.err, ErrExpired) || !o.expired || !o.called || o.n >= tt.size {
					t.Fatalf("read %d of %d bytes, err %v, expired %v, onExpire %v; want the body cut off", o.n, tt.size, o.err, o.expired, o.called)
				}
				return
			}
			if o.err != nil || o.n != tt.size || o.expired {
				t.Fatalf("read %d of %d bytes, err %v; want all of it", o.n, tt.size, o.err)
			}
		})
	}
}

// TestDeadlineLiftedAtTheEnd: once the body is read, a handler that works
// on for longer than the timeout keeps its request (net/http lifts the
// read deadline when it starts watching the connection; the gateway's
// long requests rely on it).
func TestDeadlineLiftedAtTheEnd(t *testing.T) {
	t.Parallel()
	lim := Limits{Timeout: 200 * time.Millisecond, MinRate: 1 << 20}
	addr, got := serve(t, lim, 3*lim.Timeout)
	conn := send(t, addr, 10, 10, time.Millisecond, -1)
	o := <-got
	if o.err != nil || o.ctxAfter != nil {
		t.Fatalf("read err %v; the request's context after the timeout: %v, want none", o.err, o.ctxAfter)
	}
	if _, err := http.ReadResponse(bufio.NewReader(conn), nil); err != nil {
		t.Fatalf("no answer: %v", err)
	}
}

// ErrExpired reads as a client that went away.
func TestErrExpiredIsCancellation(t *testing.T) {
	t.Parallel()
	if !errors.Is(fmt.Errorf("read body: %w", ErrExpired), context.Canceled) {
		t.Error("ErrExpired does not wrap context.Canceled")
	}
}
