package fleet

import (
	"sync/atomic"

	"github.com/comfygate/comfygate/internal/job"
)

// Reservation is a backend slot held for a job while it is being
// submitted, so that the commit that stores the job also records its
// dispatch: a job submitted to a fleet with a free slot and nothing
// waiting costs one write transaction before its prompt is posted, not
// two (create, then claim). Claim goes into that commit; then exactly one
// of Start (the commit stored the job dispatched) or Release (it did not:
// an error, a replay, a commit without Claim) ends the reservation.
//
// Until then the run is registered under the job's id, as a run that is
// claiming is: a cancel of the job just stored waits in its mailbox, and
// crash recovery and the share rounds leave the job to it.
type Reservation struct {
	r     *run
	ended atomic.Bool
}

// Reserve holds a slot for j, a job about to be stored queued, on the
// backend the scheduler would give it now. It does so only when that
// changes nothing the scheduler decides: the fleet runs and is not
// stopping, no job waits in its queue (none is passed over, whatever its
// priority or owner) and a backend that can run j has a free slot.
// Otherwise it returns nil, and the job is stored queued and enqueued as
// ever. j's ID must be the one it will be stored under, and new.
func (f *Fleet) Reserve(j *job.Job) *Reservation {
	if ctx := f.lifetime(); ctx == nil || ctx.Err() != nil || f.queueBusy() || !anyFree(f.snapshot()) {
		return nil // before parsing the graph: the common refusals are cheap
	}
	c := f.candidateOf(j)
	f.busy.enter() // before the look at stopping: Stop waits for us, or we see it
	if f.stopping.Load() || f.localRun(j.ID) != nil {
		f.busy.leave()
		return nil
	}
	b := f.reserveSlot(c)
	if b == nil {
		f.busy.leave()
		return nil
	}
	r := f.newRun(b, c)
	f.runsMu.Lock()
	f.runs[r.jobID] = r
	f.runsMu.Unlock()
	f.m.setInflight(b)
	return &Reservation{r: r}
}

// queueBusy reports whether jobs wait in the view, or to be loaded into it.
func (f *Fleet) queueBusy() bool {
	f.qmu.Lock()
	defer f.qmu.Unlock()
	return f.policy.Len() > 0 || len(f.incoming) > 0
}

// reserveSlot places c and takes the slot, under the scheduler's lock so
// that no round hands out a job meanwhile; nil when jobs wait or no
// backend can take c now.
func (f *Fleet) reserveSlot(c *Candidate) *Backend {
	now := f.clock.Now()
	f.qmu.Lock()
	defer f.qmu.Unlock()
	if f.policy.Len() > 0 || len(f.incoming) > 0 {
		return nil
	}
	b := place(c, f.snapshot())
	if b == nil || !b.reserve(now) {
		return nil
	}
	return b
}

// Claim is the claim of the reserved slot, for the commit that creates
// the job (job.Store's CreateJobThenUpdate): the job bound to the
// backend, dispatched and leased to this replica, with its "dispatched"
// event, exactly as a claim of the queued job would record them.
func (res *Reservation) Claim(j *job.Job) (*job.Event, error) {
	return res.r.claimInto(j, res.r.f.clock.Now())
}

// Start sets the run off on a job its commit stored dispatched: j and ev
// are that job and its "dispatched" event as stored. The caller publishes
// the job's first event before: ev is published here, after it. Should
// the fleet have stopped meanwhile, the job stays dispatched and leased
// here, and is re-attached as any job left on a backend is.
func (res *Reservation) Start(j *job.Job, ev *job.Event) {
	if res.ended.Swap(true) {
		return
	}
	r := res.r
	r.seq = j.Seq
	r.claimed(j, ev)
	ctx := r.f.lifetime()
	if !r.f.goRun(func() { r.dispatchClaimed(ctx, j) }) {
		r.f.busy.leave()
		r.cleanup()
	}
}

// Release gives the slot back: the job was not stored dispatched.
func (res *Reservation) Release() {
	if res.ended.Swap(true) {
		return
	}
	res.r.f.busy.leave()
	res.r.cleanup()
}

// goRun starts fn as a goroutine of the fleet, unless Stop is waiting for
// them or has: it reports whether fn was started.
func (f *Fleet) goRun(fn func()) bool {
	f.runsMu.Lock()
	defer f.runsMu.Unlock()
	if f.runsClosed {
		return false
	}
	f.wg.Go(fn)
	return true
}
