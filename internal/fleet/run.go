package fleet

import (
	"context"
	"encoding/json"
	"os"
	"sync/atomic"
	"time"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/internal/mailbox"
)

// phase is how far a run has got. Only the run's goroutine changes it.
type phase int

const (
	phaseClaiming  phase = iota // claiming in the store, staging, posting
	phaseQueued                 // accepted by ComfyUI, waiting in its queue
	phaseRunning                // ComfyUI started it
	phaseFinishing              // ComfyUI is done; collecting the result
)

// verdict is what following a run concluded.
type verdict int

const (
	keepGoing verdict = iota
	vFinished         // ComfyUI has a history entry: collect it
	vLost             // the backend does not know the prompt: retry
	vGiveUp           // the backend is down and cannot tell: retry, note an orphan
	vAbandon          // the fleet stops or another replica took the job
	vEnded            // already ended in the store (e.g. failed at submit)
)

// run is one attempt of one job on one backend: an actor whose goroutine
// owns all its mutable state. The socket router and the health loop only
// push messages into its mailbox.
type run struct {
	f        *Fleet
	b        *Backend
	jobID    string
	owner    string
	promptID string
	req      *Requirements
	seq      int64 // the job's queue order, for picking whom to move first
	mbox     *mailbox.Mailbox[any]
	seen     atomic.Int64 // unix ns of the last event or check

	// Read by the health loop and the scheduler; written by the run
	// goroutine (and the socket router, for heard).
	shared  atomic.Int32 // phase, mirrored by setPhase (see sharedPhase)
	heard   atomic.Int64 // unix ns of the post, the start, or the last frame of the prompt (stall.go)
	number  atomic.Int64 // ComfyUI's queue number of the prompt; 0 = unknown (crash.go)
	blind   atomic.Bool  // posted under another client id: events never reach us
	suspect atomic.Bool  // a death of the backend is charged to this run (crash.go)
	// stallAsked and moving keep one msgStall / msgMove in flight.
	stallAsked atomic.Bool
	moving     atomic.Bool

	// Owned by the run goroutine.
	attempt     int
	lastSeq     int64             // the job's last durable event seq
	classOf     map[string]string // node id → class_type
	outputNodes []string
	format      job.OutputOptions // how the outputs are stored (delivery format)
	phase       phase
	slotHeld    bool
	cancelAsked bool
	leaseLost   bool // stopped following: the backend or the job went to another driver
	busted      bool // this attempt was sent with a cache-busting nonce
	obs         observed
	history     json.RawMessage // the history entry saved with the job when it ends
	prog        progressState
	socketGen   int64    // the backend's socket generation when posted
	postedAt    int64    // unix ns when ComfyUI accepted the prompt
	outDir      *os.Root // the backend's output directory, once opened (outdisk.go)
	// folder is where the graph's save nodes write (outfolder.go), "" when
	// it has none to move. Set before the run is added to its backend and
	// never changed: other runs read it (Backend.folderInUse).
	folder string
	start  *pendingStart // the run's start, while not yet recorded (start.go)
}

// maxMailbox bounds a run's backlog of droppable events (progress,
// previews): the socket router never blocks on a slow run, since it serves
// every run of the backend.
const maxMailbox = 4096

func (f *Fleet) newRun(b *Backend, c *Candidate) *run {
	r := &run{f: f, b: b, jobID: c.ID, owner: c.Owner, seq: c.Seq, req: c.Req, mbox: mailbox.New[any](maxMailbox), slotHeld: true}
	r.touch(f.clock.Now())
	return r
}

func (r *run) touch(now time.Time) { r.seen.Store(now.UnixNano()) }

// sharedPhase is the run's phase as other goroutines may read it.
func (r *run) sharedPhase() phase { return phase(r.shared.Load()) }

// setPhase moves the run on and publishes what the health loop and the
// scheduler read about it.
func (r *run) setPhase(p phase) {
	if p == r.phase {
		return
	}
	r.phase = p
	now := r.f.clock.Now().UnixNano()
	switch p {
	case phaseQueued:
		r.postedAt = now
		r.heard.Store(now) // the wait for it to start counts from here
	case phaseRunning:
		r.heard.Store(now) // the stall clock starts when the run does
	}
	r.shared.Store(int32(p))
}

func (r *run) lastSeen() time.Time { return time.Unix(0, r.seen.Load()) }

// adoptJob fills the run's view of the job it is now bound to.
func (r *run) adoptJob(j *job.Job, seq int64) {
	r.attempt = j.Attempts
	r.promptID = promptIDFor(j.ID, j.Attempts)
	r.lastSeq = max(seq, j.EventSeq)
	r.outputNodes = j.OutputNodes
	r.format = j.OutputOptions
	r.owner = j.Owner
	if r.req == nil {
		r.req, _ = requirementsFromJSON(j.Graph)
	}
	var steps map[string]float64
	if r.req != nil {
		r.classOf, steps = r.req.classOf, r.req.steps
	}
	r.prog.init(r.classOf, steps, r.f.costs)
	if hasFolderSaveNode(r.classOf) {
		r.folder = job.OutputFolder(outputKey(r.f.cfg.InstanceID, j.Graph))
	}
}

// releaseSlot gives the backend slot back as soon as ComfyUI is done with
// the prompt (before our bookkeeping), so the next job goes in at once.
func (r *run) releaseSlot() {
	if !r.slotHeld {
		return
	}
	r.slotHeld = false
	r.b.release()
	r.f.m.setInflight(r.b)
	r.f.wakeScheduler()
}

// dispatch is the goroutine of a freshly placed job: claim, submit, follow,
// finish.
func (r *run) dispatch(ctx context.Context) {
	defer r.cleanup()
	r.f.busy.enter()
	j, ok := r.claim(ctx)
	if !ok {
		r.f.busy.leave()
		return
	}
	r.carry(ctx, j)
}

// dispatchClaimed is the goroutine of a job its submission's commit
// stored dispatched already (see Reservation): dispatch without the claim.
// The busy count was entered by the reservation.
func (r *run) dispatchClaimed(ctx context.Context, j *job.Job) {
	defer r.cleanup()
	r.carry(ctx, j)
}

// carry submits a claimed job, then follows it to the end. The caller
// entered the busy count, which the POST keeps and carry leaves.
func (r *run) carry(ctx context.Context, j *job.Job) {
	v := r.submit(ctx, j)
	r.f.busy.leave()
	if v == keepGoing {
		v = r.follow(ctx)
	}
	r.conclude(ctx, v)
}

// resume is the goroutine of a job re-attached after a restart (or taken
// over from a dead replica): it starts by asking the backend where the
// prompt is.
func (r *run) resume(ctx context.Context) {
	defer r.cleanup()
	r.mbox.Push(msgCheck{reason: "re-attached"}, false)
	r.conclude(ctx, r.follow(ctx))
}

func (r *run) cleanup() {
	r.dropStart()
	r.closeOutputDir()
	r.b.removeRun(r)
	r.releaseSlot()
	r.f.forgetRun(r)
	answerCancels(r.mbox.Close())
	if r.leaseLost && !r.f.stopping.Load() {
		// If the backend came back to this replica meanwhile, the job was
		// skipped as still followed here: look again now.
		r.f.recoverSoon.Store(true)
		r.f.wakeShare()
	}
}

// follow processes the run's mailbox until the run reaches a verdict.
func (r *run) follow(ctx context.Context) verdict {
	var buf []any
	p := poller{clock: r.f.clock, every: r.f.cfg.PollInterval}
	defer p.stop()
	for {
		p.set(r.needsPoll())
		select {
		case <-ctx.Done():
			return vAbandon
		case <-r.mbox.Signal():
		case <-p.c():
			r.mbox.Push(msgCheck{reason: "poll"}, false)
			continue
		case <-r.startDue():
			if v := r.startWindowClosed(ctx, &buf); v != keepGoing {
				return v
			}
			continue
		}
		if v := r.handleMail(ctx, &buf); v != keepGoing {
			return v
		}
	}
}

// startWindowClosed records the run's pending start once its window is
// over. What came in meanwhile is handled first (select picks at random
// among ready cases): should the run's end be among it, the start is
// recorded in the commit that records the end instead of one of its own.
func (r *run) startWindowClosed(ctx context.Context, buf *[]any) verdict {
	if v := r.handleMail(ctx, buf); v != keepGoing {
		return v
	}
	r.recordStart(ctx)
	return keepGoing
}

// handleMail handles the messages waiting in the run's mailbox, in order,
// until one reaches a verdict; buf is reused between calls.
func (r *run) handleMail(ctx context.Context, buf *[]any) verdict {
	*buf = r.mbox.Take(*buf)
	for i, m := range *buf {
		if v := r.handle(ctx, m); v != keepGoing {
			answerCancels((*buf)[i+1:])
			return v
		}
	}
	return keepGoing
}

// answerCancels releases the callers of cancels the run will not act on
// (it is over); they read the outcome from the store.
func answerCancels(msgs []any) {
	for _, m := range msgs {
		if c, ok := m.(msgCancel); ok && c.reply != nil {
			close(c.reply)
		}
	}
}

// needsPoll: the socket cannot tell us about this prompt right now.
func (r *run) needsPoll() bool {
	return r.phase >= phaseQueued && (r.blind.Load() || !r.b.socketUp.Load())
}

func (r *run) handle(ctx context.Context, m any) verdict {
	if ctx.Err() != nil {
		return vAbandon
	}
	switch m := m.(type) {
	case comfy.Event:
		return r.onEvent(ctx, m)
	case msgCheck:
		return r.reconcile(ctx, m.reason)
	case msgBackendDown:
		return r.reconcile(ctx, "backend down")
	case msgCancel:
		return r.onCancel(ctx, m)
	case msgLeaseLost:
		r.leaseLost = true
		return vAbandon
	case msgEvict:
		return r.onEvict(ctx)
	case msgStall:
		return r.onStall(ctx)
	case msgMove:
		return r.onMove(ctx, m)
	}
	return keepGoing
}

// conclude acts on a verdict. Only vAbandon leaves the store untouched: the
// job stays bound to this backend for whoever re-attaches it.
func (r *run) conclude(ctx context.Context, v verdict) {
	switch v {
	case vFinished:
		r.f.busy.enter()
		defer r.f.busy.leave()
		r.setPhase(phaseFinishing)
		r.releaseSlot()
		r.finish(ctx)
	case vLost:
		if r.suspect.Load() {
			r.retry(ctx, outcomeBackendCrashed, "backend "+r.b.ID()+" died while running the job: it came back without it")
			return
		}
		r.retry(ctx, outcomeBackendLost, "the backend lost the job: it is neither queued nor in its history (restarted?)")
	case vGiveUp:
		r.b.addOrphan(r.promptID, r.jobID)
		if r.suspect.Load() {
			r.retry(ctx, outcomeBackendCrashed, "backend "+r.b.ID()+" died while running the job: its socket dropped and it stopped answering")
			return
		}
		r.retry(ctx, outcomeBackendDown, "the backend stopped answering")
	}
}

// poller is an optional ticker for runs that must poll.
type poller struct {
	clock Clock
	every time.Duration
	t     Ticker
}

func (p *poller) set(on bool) {
	switch {
	case on && p.t == nil:
		p.t = p.clock.NewTicker(p.every)
	case !on && p.t != nil:
		p.stop()
	}
}

func (p *poller) c() <-chan time.Time {
	if p.t == nil {
		return nil
	}
	return p.t.C()
}

func (p *poller) stop() {
	if p.t != nil {
		p.t.Stop()
		p.t = nil
	}
}
