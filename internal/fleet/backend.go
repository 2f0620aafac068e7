package fleet

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/comfygate/comfygate/comfy"
)

// BackendState is a backend's health as placement and the admin API see it.
type BackendState string

// Backend states. Only a healthy backend gets new jobs; jobs already on a
// degraded or draining backend keep running there, and a down backend's jobs
// are reconciled and, if lost, run elsewhere.
const (
	// StateHealthy: the last probe answered and the socket is up.
	StateHealthy BackendState = "healthy"
	// StateDegraded: a probe or request failed, or the socket is
	// reconnecting, but not for long enough to give up on it; or the
	// prompt it runs stalled (StallTimeout) and it has not spoken since.
	StateDegraded BackendState = "degraded"
	// StateDown: DownAfter probes failed in a row, or the socket stayed
	// down longer than SocketGrace.
	StateDown BackendState = "down"
	// StateDraining: an operator asked it to take no new jobs.
	StateDraining BackendState = "draining"
	// StateUnknown: not probed yet. Its jobs are neither given up nor
	// placed until the first probes decide.
	StateUnknown BackendState = "unknown"
)

// health values kept in Backend.health. The zero value is unknown, so a
// fresh backend is never mistaken for a dead one (crash recovery must not
// re-queue jobs of a backend that simply has not been probed yet).
const (
	healthUnknown int32 = iota
	healthDown
	healthDegraded
	healthHealthy
)

// Backend is one ComfyUI server: its HTTP client, its one WebSocket, its
// health, its catalog and the runs bound to it. Fields read on the hot path
// are atomics; the routing table has its own small lock.
type Backend struct {
	cfg      BackendConfig
	client   *comfy.Client
	clientID string // our socket's id; every prompt is posted with it

	health atomic.Int32
	// stalled: the prompt it runs went silent for StallTimeout; no new
	// jobs until it speaks again (stall.go). Independent of health,
	// because a stuck ComfyUI still answers its probes.
	stalled   atomic.Bool
	stalledAt atomic.Int64 // unix ns
	draining  atomic.Bool
	removed   atomic.Bool
	// driven: this replica holds the backend's lease, so it holds the
	// socket, dispatches to it and follows its runs. Otherwise it only
	// probes it (health and catalog). Changed by the share loop only.
	driven atomic.Bool
	// leaseDeadline is when this replica stops driving the backend unless
	// it renews the lease first (unix ns): a little before the lease itself
	// lapses, so two replicas never drive it at once.
	leaseDeadline atomic.Int64
	// holder is the replica the registry last named as the lease holder
	// ("" when none), for the admin view.
	holder   atomic.Pointer[string]
	inflight atomic.Int32 // reserved slots: runs submitted or about to be
	socketUp atomic.Bool
	// socketGen counts connections; a run that saw no reconnect since it
	// was posted heard every event of its prompt.
	socketGen atomic.Int64
	// previewMeta: this connection negotiated previews with metadata, so
	// any type-1 preview it gets belongs to another client's prompt.
	previewMeta atomic.Bool
	// socketDownAt is when the socket last went down (unix ns), 0 while up.
	socketDownAt atomic.Int64
	lastUsed     atomic.Int64 // unix ns of the last reservation
	// workedAt is when its socket last showed the worker moving (unix ns):
	// an execution frame of any prompt (stall.go).
	workedAt atomic.Int64
	// stallInterruptAt is when we last interrupted a stalled prompt here
	// (unix ns): ComfyUI's interrupt flag is global, and may land on the
	// prompt after it (finish.go).
	stallInterruptAt atomic.Int64

	caps atomic.Pointer[capabilities]
	// catalogStale asks the health loop to reload /object_info.
	catalogStale atomic.Bool
	catalogAt    atomic.Int64 // unix ns of the last load
	system       atomic.Pointer[comfy.SystemStats]
	warm         atomic.Pointer[warmKeys]

	done, failed atomic.Int64
	latencyBits  atomic.Uint64 // float64 EWMA of request latency, seconds; 0 while down
	lastFailure  atomic.Pointer[failure]

	mu       sync.Mutex      // guards the fields below
	runs     map[string]*run // by prompt id
	current  string          // prompt id ComfyUI runs now (from execution_start)
	uploaded map[string]bool // staged input file names already on the backend
	files    map[comfy.FileRef]fileRecord
	// orphans are prompts we gave up on while the backend was unreachable
	// (prompt id → job id); when it answers again they are removed from its
	// queue or interrupted, so a job retried elsewhere does not also run here.
	orphans map[string]string

	// probeNow asks the health loop for an immediate probe (passive signal).
	probeNow chan struct{}
	cancel   context.CancelFunc // stops this backend's goroutines
	wg       sync.WaitGroup
	// socket stops the socket goroutine while the backend is driven;
	// guarded by mu.
	socket *socketHandle
}

// socketHandle stops a driven backend's socket goroutine.
type socketHandle struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// warmKeys is what a backend last ran, for placement's warmth score.
type warmKeys struct{ model, prefix string }

// fileRecord is the artifact an output file of this backend was copied to;
// it rescues a cached re-run whose file was since deleted on the backend.
type fileRecord struct {
	ArtifactID  string
	ContentType string
	Size        int64
	// Filename renames the output when it was re-encoded to the job's
	// delivery format; "" keeps the backend's name.
	Filename string
}

// maxFileRecords bounds Backend.files.
const maxFileRecords = 10000

func newBackend(cfg BackendConfig, client *comfy.Client, clientID string) *Backend {
	return &Backend{
		cfg:      cfg,
		client:   client,
		clientID: clientID,
		runs:     make(map[string]*run),
		uploaded: make(map[string]bool),
		files:    make(map[comfy.FileRef]fileRecord),
		orphans:  make(map[string]string),
		probeNow: make(chan struct{}, 1),
	}
}

// ID returns the backend's configured id.
func (b *Backend) ID() string { return b.cfg.ID }

// State reports the backend's state.
func (b *Backend) State() BackendState {
	switch {
	case b.draining.Load():
		return StateDraining
	case b.health.Load() == healthHealthy && b.stalled.Load():
		return StateDegraded
	case b.health.Load() == healthHealthy:
		return StateHealthy
	case b.health.Load() == healthDegraded:
		return StateDegraded
	case b.health.Load() == healthDown:
		return StateDown
	}
	return StateUnknown
}

// accepting reports whether placement may give this backend new jobs: a
// backend another replica drives takes none from this one.
func (b *Backend) accepting() bool {
	return b.driven.Load() && b.socketUp.Load() && b.health.Load() == healthHealthy && !b.stalled.Load() &&
		!b.draining.Load() && !b.removed.Load()
}

func (b *Backend) hasFreeSlot() bool { return int(b.inflight.Load()) < b.cfg.MaxInflight }

// reserve takes a slot if one is free.
func (b *Backend) reserve(now time.Time) bool {
	for {
		n := b.inflight.Load()
		if int(n) >= b.cfg.MaxInflight {
			return false
		}
		if b.inflight.CompareAndSwap(n, n+1) {
			b.lastUsed.Store(now.UnixNano())
			return true
		}
	}
}

// forceReserve takes a slot even beyond MaxInflight: a job re-attached after
// a restart occupies the backend whatever the limit says.
func (b *Backend) forceReserve() { b.inflight.Add(1) }

func (b *Backend) release() { b.inflight.Add(-1) }

// canRun reports whether the backend's catalog has everything req names. A
// backend whose catalog is not loaded yet runs nothing.
func (b *Backend) canRun(req *Requirements) bool {
	caps := b.caps.Load()
	return caps != nil && caps.check(req) == nil
}

func (b *Backend) score(req *Requirements) placeScore {
	var last warmKeys
	if w := b.warm.Load(); w != nil {
		last = *w
	}
	n := int(b.inflight.Load())
	return placeScore{
		idle:     n == 0,
		warm:     warmth(req, last.model, last.prefix),
		inflight: n,
		lastUsed: b.lastUsed.Load(),
	}
}

func (b *Backend) setWarm(req *Requirements) {
	if req != nil {
		b.warm.Store(&warmKeys{model: req.ModelKey, prefix: req.PrefixKey})
	}
}

// observeLatency folds one request's duration into the EWMA.
func (b *Backend) observeLatency(d time.Duration) {
	const alpha = 0.2
	old := math.Float64frombits(b.latencyBits.Load())
	v := d.Seconds()
	if old != 0 {
		v = alpha*v + (1-alpha)*old
	}
	b.latencyBits.Store(math.Float64bits(v))
}

func (b *Backend) latency() time.Duration {
	return time.Duration(math.Float64frombits(b.latencyBits.Load()) * float64(time.Second))
}

// requestProbe asks the health loop to probe soon, without blocking.
func (b *Backend) requestProbe() {
	select {
	case b.probeNow <- struct{}{}:
	default:
	}
}

// addRun registers r under its prompt id so socket events reach it.
func (b *Backend) addRun(r *run) {
	b.mu.Lock()
	b.runs[r.promptID] = r
	b.mu.Unlock()
}

func (b *Backend) removeRun(r *run) {
	b.mu.Lock()
	if b.runs[r.promptID] == r {
		delete(b.runs, r.promptID)
	}
	if b.current == r.promptID {
		b.current = ""
	}
	b.mu.Unlock()
}

// runFor returns the run of promptID, or of the prompt running now when
// promptID is "" (type-1/3 frames and the reconnect "executing").
func (b *Backend) runFor(promptID string) *run {
	b.mu.Lock()
	defer b.mu.Unlock()
	if promptID == "" {
		promptID = b.current
	}
	return b.runs[promptID]
}

func (b *Backend) setCurrent(promptID string) {
	b.mu.Lock()
	b.current = promptID
	b.mu.Unlock()
}

// allRuns returns a snapshot of the runs bound to this backend.
func (b *Backend) allRuns() []*run {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]*run, 0, len(b.runs))
	for _, r := range b.runs {
		out = append(out, r)
	}
	return out
}

func (b *Backend) markUploaded(name string) {
	b.mu.Lock()
	b.uploaded[name] = true
	b.mu.Unlock()
}

func (b *Backend) isUploaded(name string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.uploaded[name]
}

// forgetUploads is called when the backend goes down: it may come back as a
// fresh machine without our files.
func (b *Backend) forgetUploads() {
	b.mu.Lock()
	clear(b.uploaded)
	b.mu.Unlock()
}

func (b *Backend) recordFile(ref comfy.FileRef, rec fileRecord) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.files) >= maxFileRecords {
		for k := range b.files { // drop an arbitrary one: a bounded cache
			delete(b.files, k)
			break
		}
	}
	b.files[ref] = rec
}

// folderInUse reports whether a run other than self saves into self's
// output folder on b.
func (b *Backend) folderInUse(self *run) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, r := range b.runs {
		if r != self && r.folder == self.folder {
			return true
		}
	}
	return false
}

func (b *Backend) fileFor(ref comfy.FileRef) (fileRecord, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	rec, ok := b.files[ref]
	return rec, ok
}

func (b *Backend) addOrphan(promptID, jobID string) {
	b.mu.Lock()
	b.orphans[promptID] = jobID
	b.mu.Unlock()
}

// takeOrphans returns and forgets the orphans.
func (b *Backend) takeOrphans() map[string]string {
	b.mu.Lock()
	defer b.mu.Unlock()
	o := b.orphans
	b.orphans = make(map[string]string)
	return o
}

func (b *Backend) isDown() bool { return b.health.Load() == healthDown }
