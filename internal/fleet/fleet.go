package fleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/internal/lifecycle"
)

// Errors of the Fleet's admin calls.
var (
	ErrUnknownBackend = errors.New("unknown backend")
	ErrDuplicate      = errors.New("backend id already in use")
)

// Fleet dispatches jobs from the store to ComfyUI backends and follows them
// to the end. Create it with New, then Start; Stop shuts it down.
type Fleet struct {
	cfg   Config
	log   *slog.Logger
	clock Clock
	store job.Store
	arts  ArtifactStore
	hub   Hub
	m     *metrics

	backendsMu sync.Mutex                 // serialises changes to backends
	backends   atomic.Pointer[[]*Backend] // immutable snapshot, read lock-free

	qmu      sync.Mutex // guards policy and incoming
	policy   Policy
	incoming []incoming
	wake     chan struct{} // cap 1: "the scheduler has something to look at"
	// recheckCaps asks the scheduler to fail queued jobs that no backend
	// can run, after a catalog changed.
	recheckCaps atomic.Bool

	runsMu sync.Mutex      // guards runs and runsClosed
	runs   map[string]*run // local runs by job id
	// runsClosed is set by Stop before it waits for the fleet's
	// goroutines: a reserved run (reserve.go) no longer starts after it.
	runsClosed bool

	// shareMu serialises share rounds and backend removals (see share.go).
	shareMu   sync.Mutex
	shareWake chan struct{} // cap 1: "run a share round soon"
	// recoverSoon asks the share loop for crash recovery at its next
	// round; lastRecover (owned by the share loop) is when it last ran.
	recoverSoon atomic.Bool
	lastRecover time.Time

	catalog  catalogCache
	memory   memRelease // after catalog loads
	reqs     reqInterner
	costs    *costModel // learned node durations, for progress
	busy     busyTracker
	ownsHTTP bool // the HTTP client is ours to close

	// testDrop, set only by this package's tests before Start, swallows
	// socket events to imitate frames ComfyUI sent that never arrived.
	testDrop func(b *Backend, ev comfy.Event) bool

	stopping atomic.Bool // phase 1 of Stop: no new claims
	life     lifecycle.Lifecycle
	wg       sync.WaitGroup // every goroutine the fleet starts
}

// New checks cfg and returns a Fleet that is not started yet.
func New(cfg Config) (*Fleet, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	ownsHTTP := cfg.HTTPClient == nil
	cfg = cfg.withDefaults()
	f := &Fleet{
		ownsHTTP:  ownsHTTP,
		cfg:       cfg,
		log:       cfg.Logger,
		clock:     cfg.Clock,
		store:     cfg.Store,
		arts:      cfg.Artifacts,
		hub:       cfg.Hub,
		policy:    cfg.Policy,
		wake:      make(chan struct{}, 1),
		shareWake: make(chan struct{}, 1),
		runs:      make(map[string]*run),
		costs:     newCostModel(),
		memory:    memRelease{settle: catalogSettle, release: debug.FreeOSMemory},
	}
	m, err := newMetrics(cfg.Metrics)
	if err != nil {
		return nil, err
	}
	f.m = m
	empty := []*Backend{}
	f.backends.Store(&empty)
	for _, bc := range cfg.Backends {
		b, err := f.newBackend(bc)
		if err != nil {
			return nil, err
		}
		f.addBackendLocked(b)
	}
	return f, nil
}

// Start connects to the backends, re-attaches the jobs a previous process
// left on them, loads the queue and starts dispatching. It returns once
// everything is running; it does not wait for backends to answer. Cancelling
// ctx stops the fleet abruptly (as a crash would, minus the lost memory);
// Stop must still be called to wait for its goroutines. A second Start
// returns lifecycle.ErrStarted.
func (f *Fleet) Start(ctx context.Context) error { return f.life.Start(ctx, f.start) }

func (f *Fleet) start(lctx context.Context) error {
	if err := f.declareBackends(lctx); err != nil {
		return err
	}
	f.backendsMu.Lock()
	for _, b := range f.snapshot() {
		f.startBackend(lctx, b)
	}
	f.backendsMu.Unlock()
	f.shareRound(lctx) // drives this replica's share, re-attaching their jobs
	f.lastRecover = f.clock.Now()
	if err := f.recoverActive(lctx); err != nil {
		f.log.Warn("fleet: crash recovery incomplete; retrying on the next refresh", "err", err)
		f.recoverSoon.Store(true)
	}
	if err := f.refreshQueue(lctx); err != nil {
		f.log.Warn("fleet: loading the queue failed; retrying on the next refresh", "err", err)
	}
	f.wg.Go(func() { f.schedulerLoop(lctx) })
	f.wg.Go(func() { f.leaseLoop(lctx) })
	f.wg.Go(func() { f.shareLoop(lctx) })
	return nil
}

// declareBackends puts the configured backends into the registry (their
// address and slots; a drain set at run time stays).
func (f *Fleet) declareBackends(ctx context.Context) error {
	for _, bc := range f.cfg.Backends {
		_, err := f.cfg.Registry.PutBackend(ctx, &job.Backend{ID: bc.ID, URL: bc.URL, MaxInflight: bc.MaxInflight})
		if err != nil {
			return fmt.Errorf("start fleet: store backend %s: %w", bc.ID, err)
		}
	}
	return nil
}

// Stop shuts the fleet down in two phases: it stops dispatching and waits,
// up to ctx's deadline, for runs in the middle of bookkeeping (a submit in
// flight, outputs being copied) to finish; then it cancels everything and
// waits for every goroutine. Jobs still running on a backend stay
// dispatched/running in the store and are re-attached by the next process's
// Start. Stop before Start does nothing; a second Stop waits for the first.
func (f *Fleet) Stop(ctx context.Context) error { return f.life.Stop(ctx, f.stop) }

func (f *Fleet) stop(ctx context.Context) error {
	f.stopping.Store(true)
	f.wakeScheduler()
	err := f.busy.wait(ctx)
	if err == nil {
		f.releaseLeases(ctx)
	}
	f.life.Cancel()
	f.runsMu.Lock()
	f.runsClosed = true
	f.runsMu.Unlock()
	f.wg.Wait()
	for _, b := range f.snapshot() {
		b.wg.Wait()
	}
	f.memory.stop()
	// Nothing of ours runs any more: the backends can change hands now.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.cfg.RequestTimeout)
	f.releaseBackends(rctx)
	cancel()
	if f.ownsHTTP {
		f.cfg.HTTPClient.CloseIdleConnections()
	}
	if err != nil {
		return fmt.Errorf("stop fleet: %w", err)
	}
	return nil
}

// lifetime returns the context of the running fleet, or nil before Start.
func (f *Fleet) lifetime() context.Context { return f.life.Context() }

// snapshot returns the current backends; callers must not modify it.
func (f *Fleet) snapshot() []*Backend { return *f.backends.Load() }

// backend returns the backend with id, or nil.
func (f *Fleet) backend(id string) *Backend {
	for _, b := range f.snapshot() {
		if b.ID() == id {
			return b
		}
	}
	return nil
}

// addBackendLocked publishes a new snapshot with b; backendsMu must be held
// (or the fleet not yet shared).
func (f *Fleet) addBackendLocked(b *Backend) {
	next := append(slices.Clone(f.snapshot()), b)
	f.backends.Store(&next)
}

func (f *Fleet) removeBackendLocked(b *Backend) {
	next := slices.DeleteFunc(slices.Clone(f.snapshot()), func(x *Backend) bool { return x == b })
	f.backends.Store(&next)
}

// wakeScheduler nudges the scheduler without blocking.
func (f *Fleet) wakeScheduler() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// maxAttempts is the attempt bound of j.
func (f *Fleet) maxAttempts(j *job.Job) int {
	if j.MaxAttempts > 0 {
		return j.MaxAttempts
	}
	return f.cfg.MaxAttempts
}

// Ready reports whether at least one backend is healthy.
func (f *Fleet) Ready() bool {
	return slices.ContainsFunc(f.snapshot(), func(b *Backend) bool { return b.health.Load() == healthHealthy })
}
