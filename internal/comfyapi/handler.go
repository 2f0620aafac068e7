package comfyapi

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/internal/imaging"
	"github.com/comfygate/comfygate/internal/lifecycle"
)

// Handler serves the ComfyUI-compatible surface. Create it with New, Start
// it before serving, and Stop it after the HTTP server has shut down.
type Handler struct {
	cfg    Config
	log    *slog.Logger
	store  Store
	gw     Gateway
	router *router
	proxy  http.Handler

	counter counter         // ComfyUI's prompt number
	tracker *tracker        // pending+running jobs per owner
	sockets *registry       // downstream WebSockets
	relay   *relay          // upstream messages → sockets
	names   *Names          // file names shown to clients
	ended   *endedJobs      // jobs that ended lately, for their history
	info    *fleetInfo      // merged /system_stats and model lists
	images  *imaging.Budget // memory of images decoded whole for re-encodes

	life     lifecycle.Lifecycle
	stopping atomic.Bool
	wg       sync.WaitGroup // the goroutines Start began
}

// New checks cfg and builds the handler. It starts nothing.
func New(cfg Config) (*Handler, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	h := &Handler{cfg: cfg, log: cfg.Logger, store: cfg.Store, gw: cfg.Gateway, names: cfg.Names, ended: newEndedJobs()}
	h.tracker = newTracker()
	h.images = imaging.NewBudget(cfg.ImageBudgetBytes)
	h.sockets = newRegistry(cfg.SocketBuffer, cfg.Logger)
	h.info = newFleetInfo(h)
	h.relay = newRelay(h)
	h.proxy = newProxy(h)
	h.router = h.routes()
	return h, nil
}

// Start loads what the surface keeps in memory (the queue counts and the
// prompt counter) and starts the relay. It returns once everything runs;
// the relay lives until Stop, whatever becomes of ctx. A second Start
// returns lifecycle.ErrStarted.
func (h *Handler) Start(ctx context.Context) error {
	return h.life.Start(context.WithoutCancel(ctx), func(lctx context.Context) error {
		if err := h.tracker.load(ctx, h.store); err != nil {
			return err
		}
		if err := h.counter.load(ctx, h.store); err != nil {
			return err
		}
		h.relay.start(lctx, &h.wg)
		return nil
	})
}

// Stop ends the relay and closes every downstream socket, then waits for
// the goroutines Start began. Call it after the HTTP server stopped taking
// requests; sockets still open are closed with "going away". Stop before
// Start does nothing; a second Stop waits for the first.
func (h *Handler) Stop(ctx context.Context) error { return h.life.Stop(ctx, h.stop) }

func (h *Handler) stop(ctx context.Context) error {
	h.stopping.Store(true)
	h.life.Cancel()
	h.sockets.closeAll()
	done := make(chan struct{})
	go func() {
		h.wg.Wait()
		h.sockets.wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Message takes one message a backend sent about a job (the fleet's tap):
// it queues the message for the relay and returns at once.
func (h *Handler) Message(jobID string, ev comfy.Event) {
	if h.stopping.Load() {
		return // nobody is left to tell
	}
	h.relay.mbox.Push(tapItem{jobID: jobID, ev: ev}, droppable(ev))
}

// ServeHTTP serves every route of the surface; paths it does not know are
// proxied to a healthy backend (custom nodes add routes of their own).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.router.ServeHTTP(w, r) }

// Sockets counts the open /ws sockets, so that a replica without any can
// tell the others it needs none of the backends' progress messages.
func (h *Handler) Sockets() int {
	h.sockets.mu.Lock()
	defer h.sockets.mu.Unlock()
	return len(h.sockets.all)
}

// Register mounts the surface's own routes (each also under /api/) on a
// process mux. Paths it does not claim stay with whatever serves "/"; wrap
// that with Fallback to proxy ComfyUI routes of custom nodes too.
func (h *Handler) Register(mux *http.ServeMux) {
	for _, p := range h.router.patterns() {
		mux.Handle(p, h)
	}
}

// Paths are the paths of the surface's own routes, with and without /api
// as they are served, for the OpenAPI document to be checked against.
func (h *Handler) Paths() []string { return h.router.patterns() }

// Fallback returns a handler for the paths Register does not claim: those
// for which claimed(path) is true go to next (another surface's routes),
// every other path is proxied to a healthy backend, as ServeHTTP does.
func (h *Handler) Fallback(next http.Handler, claimed func(path string) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if claimed(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		h.authed(h.proxy.ServeHTTP)(w, r)
	})
}
