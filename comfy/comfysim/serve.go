package comfysim

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// Serve answers requests on ln until ctx is cancelled (graceful: in-flight
// requests get a few seconds), Close is called (nil) or Crash is called
// (ErrCrashed).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	fresh := &freshConns{conns: map[net.Conn]struct{}{}}
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.opts.readTimeout(),
		// A handler panic (which net/http recovers) is logged with the
		// simulator's own lines, where tests can see it.
		ErrorLog:    slog.NewLogLogger(s.opts.Logger.Handler(), slog.LevelError),
		BaseContext: func(net.Listener) context.Context { return s.ctx },
		ConnState:   fresh.track,
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ln.Close()
		return errors.New("comfysim: serve after close")
	}
	s.servers = append(s.servers, srv)
	if s.urlStr == "" {
		s.urlStr = "http://" + ln.Addr().String()
	}
	s.mu.Unlock()

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return s.serveResult(err)
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.hub.CloseAll(false)
		fresh.shutdown()
		_ = srv.Shutdown(shutdownCtx)
		<-errc
		return nil
	}
}

// freshConns tracks connections that have not sent a request yet.
// http.Server.Shutdown waits five seconds before it treats those as idle;
// a simulator shutting down closes them at once instead.
type freshConns struct {
	mu     sync.Mutex // guards the fields below
	conns  map[net.Conn]struct{}
	closed bool
}

func (f *freshConns) track(c net.Conn, st http.ConnState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if st != http.StateNew {
		delete(f.conns, c)
		return
	}
	if f.closed {
		_ = c.Close()
		return
	}
	f.conns[c] = struct{}{}
}

func (f *freshConns) shutdown() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	for c := range f.conns {
		_ = c.Close()
	}
	clear(f.conns)
}

func (s *Server) serveResult(err error) error {
	select {
	case <-s.crashed:
		return ErrCrashed
	default:
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// URL is the base URL of the first listener Serve was given ("" before).
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.urlStr
}

// Start runs a simulator on 127.0.0.1 with a free port for the duration of
// a test and registers its shutdown with tb.Cleanup.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s, err := New(opts)
	if err != nil {
		tb.Fatalf("comfysim: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = s.Close()
		tb.Fatalf("comfysim: listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, ErrCrashed) {
			tb.Errorf("comfysim: serve: %v", err)
		}
		_ = s.Close()
	})
	s.mu.Lock()
	if s.urlStr == "" {
		s.urlStr = "http://" + ln.Addr().String()
	}
	s.mu.Unlock()
	return s
}
