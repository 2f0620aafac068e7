package comfysim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/comfygate/comfygate/comfy/comfysim/internal/engine"
	"github.com/comfygate/comfygate/comfy/comfysim/internal/hub"
	"github.com/comfygate/comfygate/comfy/comfysim/internal/queue"
	"github.com/comfygate/comfygate/comfy/comfysim/internal/tensor"
	"github.com/comfygate/comfygate/internal/imaging"
	"github.com/comfygate/comfygate/workflow"
)

// ErrCrashed is returned by Serve after Crash.
var ErrCrashed = errors.New("comfysim: crashed")

// Server is a running simulator. Create it with New (or Start in tests) and
// stop it with Close.
type Server struct {
	opts    Options
	dataDir string
	ownsDir bool
	lim     tensor.Limits
	images  *imaging.Budget // memory of request-driven image work
	catalog *workflow.Catalog
	hub     *hub.Hub
	exec    *engine.Executor
	knobs   *knobs
	logs    *logBuffer
	stats   *stats
	handler http.Handler
	started time.Time // Last-Modified of the index page

	mu       sync.Mutex // guards the queue state below
	number   int64      // PromptServer.number
	pending  queue.Heap[*item]
	running  *item
	history  *queue.History[*historyItem]
	flags    serverFlags
	wake     chan struct{}
	servers  []*http.Server
	closed   bool
	urlStr   string
	crashed  chan struct{}
	crashOne sync.Once

	sockets sync.WaitGroup // running /ws handlers
	bg      sync.WaitGroup // background actions (a crash requested over HTTP)

	ctx       context.Context // the worker's lifetime
	cancel    context.CancelFunc
	workerEnd chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// serverFlags are the POST /free requests the worker applies between
// prompts.
type serverFlags struct {
	unloadModels, freeMemory bool
}

// New builds a simulator and starts its worker. Serve it with Serve, or
// mount Handler yourself; call Close when done.
func New(opts Options) (*Server, error) {
	opts = opts.withDefaults()
	s := &Server{
		opts:      opts,
		lim:       tensor.Limits{MaxSide: opts.MaxImageSide, MaxPixels: opts.MaxImagePixels},
		images:    imaging.NewBudget(opts.imageBudgetBytes()),
		logs:      newLogBuffer(opts.Now),
		stats:     newStats(),
		history:   queue.NewHistory[*historyItem](0),
		wake:      make(chan struct{}, 1),
		crashed:   make(chan struct{}),
		workerEnd: make(chan struct{}),
		started:   opts.Now().Truncate(time.Second),
	}
	s.knobs = newKnobs(opts)
	if err := s.setupDirs(); err != nil {
		return nil, err
	}
	if err := s.setupCatalog(); err != nil {
		s.removeDataDir()
		return nil, err
	}
	s.hub = hub.New(hub.Options{
		BufferFrames: opts.WSBufferFrames,
		WriteTimeout: opts.WSWriteTimeout,
		ServerFlags:  s.featureFlagsMessage(),
		Logger:       opts.Logger,
	})
	s.exec = engine.New(engine.Config{
		Catalog: s.catalog,
		Dir:     s.dir,
		Limits:  s.lim,
		Knobs:   s.knobs,
		Emitter: (*emitter)(s),
		Crash:   s.crashInNode,
		Seed:    opts.Seed,
		Now:     opts.Now,
		Logger:  opts.Logger,
	})
	s.handler = s.routes()
	s.ctx, s.cancel = context.WithCancel(context.Background())
	go s.worker()
	s.logf("Starting server\n")
	return s, nil
}

func (s *Server) setupDirs() error {
	dir := s.opts.DataDir
	if dir == "" {
		d, err := os.MkdirTemp("", "comfysim-*")
		if err != nil {
			return fmt.Errorf("comfysim: data dir: %w", err)
		}
		dir, s.ownsDir = d, true
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("comfysim: data dir: %w", err)
	}
	s.dataDir = abs
	// ComfyUI wipes its temp directory at start.
	if err := os.RemoveAll(s.dir("temp")); err != nil {
		return fmt.Errorf("comfysim: clean temp dir: %w", err)
	}
	for _, kind := range []string{"input", "output", "temp"} {
		if err := os.MkdirAll(s.dir(kind), 0o755); err != nil {
			return fmt.Errorf("comfysim: create %s dir: %w", kind, err)
		}
	}
	return nil
}

// dir returns the absolute directory of "input", "output" or "temp".
func (s *Server) dir(kind string) string { return filepath.Join(s.dataDir, kind) }

// DataDir is the directory holding input, output and temp.
func (s *Server) DataDir() string { return s.dataDir }

// Handler serves the ComfyUI API. It stays usable until Close.
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) removeDataDir() {
	if s.ownsDir {
		_ = os.RemoveAll(s.dataDir)
	}
}

// Close stops the simulator: listeners, sockets, the worker (a running
// prompt is abandoned), and removes the data directory if New made it.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		servers := s.servers
		s.mu.Unlock()
		for _, srv := range servers {
			_ = srv.Close()
		}
		s.knobs.release()
		s.hub.CloseAll(false)
		s.cancel()
		<-s.workerEnd
		s.sockets.Wait()
		s.hub.Wait()
		s.bg.Wait()
		s.removeDataDir()
	})
	return s.closeErr
}

// Crash stops the server abruptly, like a killed process: listeners and
// every connection are dropped without a goodbye and the worker stops.
// Serve returns ErrCrashed. Close is still needed to clean up.
func (s *Server) Crash() {
	s.crashOne.Do(func() {
		s.logf("simulated crash\n")
		close(s.crashed)
		s.mu.Lock()
		servers := s.servers
		s.mu.Unlock()
		for _, srv := range servers {
			_ = srv.Close()
		}
		s.hub.CloseAll(false)
		s.knobs.release()
		s.cancel()
	})
}

// crashInNode is the crash_node fault: the server dies with the node. The
// prompt's own POST /prompt answer goes out first, as it does from a real
// server whose worker crashes later; without that, whether the client
// learnt that its prompt was accepted would depend on thread timing.
func (s *Server) crashInNode(nodeID, class string) {
	s.mu.Lock()
	it := s.running
	s.mu.Unlock()
	if it != nil && it.answered != nil {
		select {
		case <-it.answered:
		case <-s.ctx.Done():
		}
	}
	s.logf("simulated crash in node %s (%s)\n", nodeID, class)
	s.Crash()
}

// Crashed is closed once Crash has been called.
func (s *Server) Crashed() <-chan struct{} { return s.crashed }
