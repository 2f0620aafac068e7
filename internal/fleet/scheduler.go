package fleet

import (
	"context"
	"errors"

	"github.com/comfygate/comfygate/internal/job"
)

// incoming is a job waiting to be loaded into the queue view: its id, the
// stored job when the caller had it at hand, and mine, which marks one
// queued here (not heard of from another replica), which the other
// replicas are told of when this one cannot start it at once.
type incoming struct {
	id   string
	j    *job.Job
	mine bool
}

// Enqueue tells the fleet that job id was stored and is waiting (retries
// call it). It never blocks: the scheduler loads the job on its next
// round, and tells the other replicas of it unless a backend driven here
// can take it at once.
func (f *Fleet) Enqueue(id string) { f.enqueue(incoming{id: id, mine: true}) }

// EnqueueJob is Enqueue for a job just stored (the gateway calls it after
// CreateJob), handing over the stored job so that the scheduler need not
// read it back. The fleet does not modify j.
func (f *Fleet) EnqueueJob(j *job.Job) { f.enqueue(incoming{id: j.ID, j: j, mine: true}) }

func (f *Fleet) enqueue(in incoming) {
	f.qmu.Lock()
	f.incoming = append(f.incoming, in)
	f.qmu.Unlock()
	f.wakeScheduler()
}

// QueuePosition estimates how many jobs will be handed out before id (0 =
// next), from this replica's in-memory view of the queue. ok is false when
// the job is not waiting in it.
func (f *Fleet) QueuePosition(id string) (pos int, ok bool) {
	f.qmu.Lock()
	defer f.qmu.Unlock()
	return f.policy.Position(id)
}

// schedulerLoop owns placement. It wakes on Enqueue, a slot freeing, a
// backend turning healthy or a new catalog, and every RefreshInterval to
// pick up jobs queued by other replicas and leases left to expire.
func (f *Fleet) schedulerLoop(ctx context.Context) {
	t := f.clock.NewTicker(f.cfg.RefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.wake:
		case <-t.C():
			f.refresh(ctx)
		}
		if f.stopping.Load() {
			continue
		}
		if f.recheckCaps.Swap(false) {
			f.sweepUnrunnable(ctx)
		}
		f.loadIncoming(ctx)
		f.schedule(ctx)
		f.stealForIdle()
	}
}

// sweepUnrunnable fails the queued jobs that no backend can run any more
// (or could not when their graphs were first seen, before any catalog was
// known). It runs only after a catalog changes, so its cost — decoding the
// waiting jobs' graphs — is paid rarely.
func (f *Fleet) sweepUnrunnable(ctx context.Context) {
	jobs, err := f.store.DispatchOrder(ctx, job.MaxListLimit)
	if err != nil {
		if ctx.Err() == nil {
			f.log.Warn("fleet: cannot list queued jobs", "err", err)
		}
		return
	}
	for _, j := range jobs {
		if f.localRun(j.ID) != nil {
			continue
		}
		if f.failUnrunnable(ctx, j, f.candidateOf(j)) {
			f.qmu.Lock()
			f.policy.Remove(j.ID)
			f.qmu.Unlock()
		}
	}
}

// refresh reloads the queue view. (Jobs left on a backend are taken over
// by whoever drives it: see drive.go.)
func (f *Fleet) refresh(ctx context.Context) {
	if err := f.refreshQueue(ctx); err != nil && ctx.Err() == nil {
		f.log.Warn("fleet: queue refresh failed", "err", err)
	}
}

// refreshQueue merges the store's dispatch order into the view. When the
// store returned its whole backlog, candidates it no longer lists (claimed
// or cancelled by another replica) are dropped from the view.
func (f *Fleet) refreshQueue(ctx context.Context) error {
	jobs, err := f.store.DispatchOrder(ctx, job.MaxListLimit)
	if err != nil {
		return err
	}
	listed := make(map[string]bool, len(jobs))
	var fresh []*job.Job
	f.qmu.Lock()
	for _, j := range jobs {
		listed[j.ID] = true
		if !f.policy.Has(j.ID) {
			fresh = append(fresh, j)
		}
	}
	f.qmu.Unlock()
	cands := make([]*Candidate, 0, len(fresh))
	for _, j := range fresh {
		if f.localRun(j.ID) == nil {
			cands = append(cands, f.candidateOf(j)) // decodes the graph: only for new ones
		}
	}
	f.qmu.Lock()
	defer f.qmu.Unlock()
	for _, c := range cands {
		if !f.policy.Has(c.ID) {
			f.policy.Push(c)
		}
	}
	if len(jobs) < job.MaxListLimit {
		f.dropUnlisted(listed)
	}
	f.m.queueDepth.Set(float64(f.policy.Len()))
	return nil
}

// dropUnlisted removes view entries the store no longer has queued; qmu
// must be held. Jobs enqueued since the listing are spared: they are in
// incoming and were not yet pushed.
func (f *Fleet) dropUnlisted(listed map[string]bool) {
	for _, id := range f.policy.IDs() {
		if !listed[id] {
			f.policy.Remove(id)
		}
	}
}

// loadIncoming moves enqueued ids into the view.
func (f *Fleet) loadIncoming(ctx context.Context) {
	f.qmu.Lock()
	in := f.incoming
	f.incoming = nil
	f.qmu.Unlock()
	for _, it := range in {
		if f.localRun(it.id) != nil {
			continue
		}
		j, err := it.j, error(nil)
		if j == nil {
			j, err = f.store.GetJob(ctx, it.id)
		}
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, job.ErrNotFound) {
				f.log.Warn("fleet: cannot load enqueued job", "job", it.id, "err", err)
				f.enqueue(incoming{id: it.id, mine: it.mine}) // try again next round
			}
			continue
		}
		if !j.State.Dispatchable() {
			continue
		}
		c := f.candidateOf(j)
		if f.failUnrunnable(ctx, j, c) {
			continue
		}
		f.qmu.Lock()
		spare := f.spareFor(c)
		f.policy.Push(c)
		f.qmu.Unlock()
		if it.mine && !spare {
			f.cfg.Peers.Send(Signal{Kind: SignalQueued, ID: it.id})
		}
	}
}

// spareFor reports whether a backend this replica drives can run c and
// has a slot to spare beyond the jobs already waiting in the view: then c
// starts here at once, and the other replicas need not hear of it (they
// would only race this one for it). qmu must be held.
func (f *Fleet) spareFor(c *Candidate) bool {
	free := 0
	for _, b := range f.snapshot() {
		if b.accepting() && b.canRun(c.Req) {
			free += max(b.cfg.MaxInflight-int(b.inflight.Load()), 0)
		}
	}
	return free > f.policy.Len()
}

// failUnrunnable fails a queued job that no backend of the fleet could run
// (a node class or model file missing everywhere, down backends included),
// with an error naming what is missing, rather than let it wait forever.
// The gateway refuses such jobs at submit; this catches the ones accepted
// before any catalog was known, or queued when a backend left the fleet.
// It reports whether the job was failed.
func (f *Fleet) failUnrunnable(ctx context.Context, j *job.Job, c *Candidate) bool {
	if c.Req == nil {
		return false
	}
	why := checkRunnable(c.Req, f.snapshot())
	if why == nil {
		return false
	}
	now := f.clock.Now()
	stored, ev, err := f.store.UpdateJobWithEvent(ctx, j.ID, func(j *job.Job) (*job.Event, error) {
		if !j.State.Dispatchable() {
			return nil, job.ErrConflict
		}
		j.Error = &job.Error{Type: "unrunnable", Message: why.Error()}
		if err := j.TransitionTo(job.StateFailed, now); err != nil {
			return nil, err
		}
		return job.NewEvent(job.EventFailed, nil), nil
	})
	if err != nil {
		if !errors.Is(err, job.ErrConflict) && ctx.Err() == nil {
			f.log.Warn("fleet: cannot fail an unrunnable job", "job", j.ID, "err", err)
		}
		return errors.Is(err, job.ErrConflict)
	}
	f.log.Warn("fleet: failed a job no backend can run", "job", j.ID, "err", why)
	f.m.jobs.ended(stored) // before the event: whoever sees it sees the metric
	f.publishJobEvent(stored, ev)
	return true
}

// candidateOf is the queue view's entry for j.
func (f *Fleet) candidateOf(j *job.Job) *Candidate {
	req, err := requirementsFromJSON(j.Graph)
	if err != nil {
		req = nil // the backend's validation will say what is wrong
	}
	return &Candidate{ID: j.ID, Owner: j.Owner, Priority: j.Priority, Seq: j.Seq, Req: f.reqs.intern(req)}
}

// schedule fills every free slot it can: the policy picks the job, placement
// the backend, and a run goroutine takes it from there.
func (f *Fleet) schedule(ctx context.Context) {
	backends := f.snapshot()
	now := f.clock.Now()
	type pick struct {
		c *Candidate
		b *Backend
	}
	var picks []pick
	f.qmu.Lock()
	for anyFree(backends) {
		var chosen *Backend
		c := f.policy.Pop(func(c *Candidate) bool {
			b := place(c, backends)
			if b == nil || !b.reserve(now) {
				return false
			}
			chosen = b
			return true
		})
		if c == nil {
			break
		}
		picks = append(picks, pick{c, chosen})
	}
	depth := f.policy.Len()
	f.qmu.Unlock()
	f.m.queueDepth.Set(float64(depth))
	for _, p := range picks {
		f.startRun(ctx, f.newRun(p.b, p.c), (*run).dispatch)
	}
}

func anyFree(backends []*Backend) bool {
	for _, b := range backends {
		if b.accepting() && b.hasFreeSlot() {
			return true
		}
	}
	return false
}

// startRun registers r and starts its goroutine with body.
func (f *Fleet) startRun(ctx context.Context, r *run, body func(*run, context.Context)) {
	f.runsMu.Lock()
	f.runs[r.jobID] = r
	f.runsMu.Unlock()
	f.m.setInflight(r.b)
	f.wg.Go(func() { body(r, ctx) })
}

// localRun returns this replica's run of jobID, or nil.
func (f *Fleet) localRun(jobID string) *run {
	f.runsMu.Lock()
	defer f.runsMu.Unlock()
	return f.runs[jobID]
}

func (f *Fleet) forgetRun(r *run) {
	f.runsMu.Lock()
	if f.runs[r.jobID] == r {
		delete(f.runs, r.jobID)
	}
	f.runsMu.Unlock()
}

// allLocalRuns returns a snapshot of this replica's runs.
func (f *Fleet) allLocalRuns() []*run {
	f.runsMu.Lock()
	defer f.runsMu.Unlock()
	out := make([]*run, 0, len(f.runs))
	for _, r := range f.runs {
		out = append(out, r)
	}
	return out
}
