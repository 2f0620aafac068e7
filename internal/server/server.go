package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/comfygate/comfygate/internal/lifecycle"
)

// ErrNotStarted is returned by Wait before Start.
var ErrNotStarted = errors.New("server not started")

// HTTP server limits. There is deliberately no WriteTimeout: event streams,
// ?wait= requests and large artifact downloads must not be cut, and each of
// them is bounded by its own logic (keepalives, MaxWait, client reads).
// Nor is there a ReadTimeout: request bodies have deadlines of their own
// (limitBodies), which a slow but steady upload meets.
const (
	idleTimeout    = 2 * time.Minute
	maxHeaderBytes = 1 << 20
)

// Server is one comfygate process. Create it with New, then Start (or Run);
// Stop shuts it down.
type Server struct {
	cfg Config
	log *slog.Logger

	life  lifecycle.Lifecycle
	mu    sync.Mutex // guards parts
	parts *parts     // the assembled components, nil before Start
}

// New checks cfg and returns a Server that is not started yet.
func New(cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("server config: %w", err)
	}
	return &Server{cfg: cfg, log: cfg.Logger}, nil
}

// Start assembles the process and starts serving: it opens the store
// (migrating it), the artifact store and the event hub, starts the
// simulators, starts the fleet (which re-attaches the jobs a previous life
// left running) and listens. It returns once requests are served; ctx
// bounds only the start itself. On error nothing is left running. A second
// Start, or one after Stop, returns lifecycle.ErrStarted.
func (s *Server) Start(ctx context.Context) error {
	return s.life.Start(ctx, func(context.Context) error {
		p, err := assemble(ctx, s.cfg)
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.parts = p
		s.mu.Unlock()
		s.log.Info("comfygate started", "version", s.cfg.Version, "addr", p.ln.Addr().String(), "data", s.cfg.DataDir,
			"backends", len(p.backends), "instance", p.instanceID)
		if len(s.cfg.APIKeys) == 0 && !isLoopback(p.ln.Addr()) {
			s.log.Warn(exposedWarning, "addr", p.ln.Addr().String())
		}
		return nil
	})
}

// exposedWarning is logged when the server listens beyond this machine
// with authentication off: the default is loopback for this reason.
const exposedWarning = "listening on a non-loopback address with no API keys: anyone who can reach it can run jobs, " +
	"read every output and change the fleet; set --api-key id:key (or COMFYGATE_API_KEY), or listen on 127.0.0.1"

// isLoopback reports whether a listener's address is reachable from this
// machine only. The unspecified address (":8080", "0.0.0.0") is every
// interface, so not.
func isLoopback(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// Addr is the address the server listens on (nil before Start), so that a
// server started on port 0 can be reached.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.parts == nil {
		return nil
	}
	return s.parts.ln.Addr()
}

// URL is "http://" + Addr ("" before Start).
func (s *Server) URL() string {
	if a := s.Addr(); a != nil {
		return "http://" + a.String()
	}
	return ""
}

// Wait blocks until ctx is done or Stop begins (nil), or until the server
// fails on its own, its listener broken (that error).
func (s *Server) Wait(ctx context.Context) error {
	s.mu.Lock()
	p := s.parts
	s.mu.Unlock()
	if p == nil {
		return ErrNotStarted
	}
	select {
	case <-ctx.Done():
		return nil
	case <-p.stopped:
		return nil
	case err := <-p.failed:
		return err
	}
}

// Stop shuts the server down in two phases. First it stops taking work:
// the listener closes, event streams and ?wait= requests end (clients
// resume elsewhere), and in-flight requests and the fleet's bookkeeping
// (submits in flight, outputs being copied) get until ctx's deadline to
// finish. Then everything left is cancelled, and the parts stop in the
// reverse order of their start, the store last. Every goroutine has
// returned when Stop does. Jobs running on a backend stay recorded as such
// and are re-attached by the next Start. Stop before Start does nothing;
// it is safe to call more than once: later calls wait for the first and
// return its result.
func (s *Server) Stop(ctx context.Context) error {
	return s.life.Stop(ctx, func(ctx context.Context) error {
		s.mu.Lock()
		p := s.parts
		s.mu.Unlock()
		err := p.stop(ctx, s.log)
		s.log.Info("comfygate stopped", "err", err)
		return err
	})
}

// Run starts the server (unless Start was already called), serves until
// ctx is done or the server fails, then stops it, allowing
// Config.ShutdownTimeout for the graceful phase.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Start(ctx); err != nil && !errors.Is(err, lifecycle.ErrStarted) {
		return err
	}
	werr := s.Wait(ctx)
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	return errors.Join(werr, s.Stop(stopCtx))
}

// newHTTPServer configures the listener's server: request contexts derive
// from base, so that cancelling it ends whatever outlived the graceful
// phase.
func newHTTPServer(h http.Handler, base context.Context, lim RequestLimits, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           limitBodies(h, lim.bodies()),
		ReadHeaderTimeout: lim.ReadHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		BaseContext:       func(net.Listener) context.Context { return base },
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}
