package comfyapi

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/internal/mailbox"
)

// relay turns what the fleet taps from the backends into what ComfyUI
// would have sent each downstream socket. One goroutine (the loop) owns
// all its state; the tap, the lifecycle subscription and the I/O tasks
// only push items into its mailbox, so the fleet's socket readers never
// wait on a downstream client or on the store.
type relay struct {
	h      *Handler
	mbox   *mailbox.Mailbox[any]
	resync resyncTable
	// started holds the jobs whose execution_start was relayed and whose
	// end was not: running as far as clients can tell, which may be ahead
	// of the store.
	started sync.Map

	// Owned by the loop goroutine.
	jobs   map[string]*jobState
	ended  endedSet
	owners map[string]*ownerQueue

	ctx   context.Context // the loop's lifetime, for tasks
	sem   chan struct{}   // bounds concurrent I/O tasks
	tasks sync.WaitGroup
}

// Mailbox items.
type (
	tapItem struct {
		jobID string
		ev    comfy.Event
	}
	lifeItem     struct{ ev events.Event }
	registerItem struct{ info jobInfo }
	statusItem   struct {
		owner string
		count int // queue_remaining when the change happened
	}
	resultItem struct{ apply func() } // an I/O task's outcome, applied on the loop
	resyncItem struct{}
)

// maxMailbox bounds the relay's backlog of droppable items (progress,
// previews); what decides what a client sees at the end is always kept.
const maxMailbox = 1 << 16

// maxTasks bounds the store reads and writes the relay runs at once.
const maxTasks = 16

func newRelay(h *Handler) *relay {
	return &relay{h: h, mbox: mailbox.New[any](maxMailbox), jobs: map[string]*jobState{}, owners: map[string]*ownerQueue{},
		ended: newEndedSet(4096), sem: make(chan struct{}, maxTasks), resync: resyncTable{m: map[sockKey]string{}}}
}

// droppable events may be lost when the relay falls far behind; those that
// decide what a client sees at the end never are.
func droppable(ev comfy.Event) bool {
	switch ev.(type) {
	case comfy.Progress, comfy.ProgressState, comfy.PreviewImage, comfy.PreviewImageWithMetadata, comfy.ProgressText:
		return true
	}
	return false
}

// register tells the relay about a job this surface just accepted.
func (r *relay) register(j *job.Job, m job.ComfyMeta) {
	r.mbox.Push(registerItem{info: infoOf(j, m)}, false)
}

// status asks for a status broadcast to owner's sockets with the count
// right after a queue change the caller made.
func (r *relay) status(owner string, count int) {
	r.mbox.Push(statusItem{owner: owner, count: count}, false)
}

// start runs the loop and the lifecycle subscription until ctx ends.
func (r *relay) start(ctx context.Context, wg *sync.WaitGroup) {
	r.ctx = ctx
	wg.Go(func() { r.loop(ctx) })
	wg.Go(func() { r.follow(ctx) })
}

func (r *relay) loop(ctx context.Context) {
	defer r.tasks.Wait()
	tick := time.NewTicker(min(r.h.cfg.StatusEvery, r.h.cfg.HoldTimeout/4))
	defer tick.Stop()
	var buf []any
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			r.flushAll()
			r.checkHolds()
			continue
		case <-r.mbox.Signal():
		}
		buf = r.mbox.Take(buf)
		for _, it := range buf {
			r.handle(it)
		}
	}
}

func (r *relay) handle(it any) {
	switch it := it.(type) {
	case tapItem:
		r.onTap(it.jobID, it.ev)
	case lifeItem:
		r.onLifecycle(it.ev)
	case registerItem:
		if !r.ended.has(it.info.id) { // it may have ended before the surface registered it
			r.state(it.info.id).setInfo(r, it.info)
		}
	case statusItem:
		r.queueFor(it.owner).push(r, &entry{ready: true, frames: []outFrame{fixedStatus(it.count)}})
	case resultItem:
		it.apply()
	case resyncItem:
		r.resyncEnds()
	}
}

// lifecycleTypes are the durable job events the relay follows.
var lifecycleTypes = map[string]bool{
	job.EventQueued: true, job.EventDispatched: true, job.EventRetrying: true,
	job.EventSucceeded: true, job.EventFailed: true, job.EventCancelled: true,
}

// follow feeds job lifecycle events into the mailbox. A subscription the
// hub dropped is renewed, and the relay then checks the store for ends it
// may have missed.
func (r *relay) follow(ctx context.Context) {
	for ctx.Err() == nil {
		sub, err := r.h.cfg.Hub.SubscribeFunc(ctx, func(e events.Event) bool { return e.Durable() && lifecycleTypes[e.Type] })
		if err != nil {
			r.h.log.Error("comfyapi: cannot follow job events", "err", err)
			return
		}
		for e := range sub.C() {
			r.mbox.Push(lifeItem{ev: e}, false)
		}
		if err := sub.Err(); ctx.Err() != nil || errors.Is(err, events.ErrHubClosed) {
			return
		}
		r.h.log.Warn("comfyapi: job event subscription dropped; resynchronising", "err", sub.Err())
		if err := r.h.tracker.load(ctx, r.h.store); err != nil {
			r.h.log.Warn("comfyapi: reloading the queue failed", "err", err)
		}
		r.mbox.Push(resyncItem{}, false)
	}
}

// task runs fn off the loop, bounded by maxTasks; fn returns what to
// apply on the loop afterwards.
func (r *relay) task(fn func(ctx context.Context) func()) {
	r.tasks.Add(1)
	go func() {
		defer r.tasks.Done()
		select {
		case r.sem <- struct{}{}:
		case <-r.ctx.Done():
			return
		}
		apply := fn(r.ctx)
		<-r.sem
		if apply != nil {
			r.mbox.Push(resultItem{apply: apply}, false)
		}
	}()
}

// resyncTable remembers the node each client's prompt is executing, for
// the "executing" re-sync a reconnecting socket gets.
type resyncTable struct {
	mu sync.Mutex // guards m
	m  map[sockKey]string
}

func (t *resyncTable) set(owner, sid, node string) {
	t.mu.Lock()
	t.m[sockKey{owner, sid}] = node
	t.mu.Unlock()
}

func (t *resyncTable) clear(owner, sid string) {
	t.mu.Lock()
	delete(t.m, sockKey{owner, sid})
	t.mu.Unlock()
}

func (t *resyncTable) get(owner, sid string) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n, ok := t.m[sockKey{owner, sid}]
	return n, ok
}

// endedSet remembers recently ended jobs, so a stray late message does not
// bring their state back.
type endedSet struct {
	max   int
	order []string
	set   map[string]bool
}

func newEndedSet(n int) endedSet { return endedSet{max: n, set: map[string]bool{}} }

func (e *endedSet) add(id string) {
	if e.set[id] {
		return
	}
	if len(e.order) >= e.max {
		delete(e.set, e.order[0])
		e.order = e.order[1:]
	}
	e.order = append(e.order, id)
	e.set[id] = true
}

func (e *endedSet) has(id string) bool { return e.set[id] }
