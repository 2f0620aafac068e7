package fleet

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/comfygate/comfygate/internal/job"
)

// msgLeaseLost tells a run another replica holds its job now.
type msgLeaseLost struct{}

// recoverActive re-attaches jobs that are bound to a backend but followed by
// nobody: left by a previous process with our InstanceID (a restart), or
// by a replica whose lease ran out. Each is asked about on its backend:
// finished → collected; still queued or running → followed, never
// resubmitted; unknown → retried.
func (f *Fleet) recoverActive(ctx context.Context) error {
	jobs, err := f.store.ActiveJobs(ctx)
	if err != nil {
		return err
	}
	now := f.clock.Now()
	for _, j := range jobs {
		if f.localRun(j.ID) != nil || !f.mayAdopt(j, now) {
			continue
		}
		if err := f.adopt(ctx, j.ID); err != nil && ctx.Err() == nil {
			f.log.Warn("fleet: re-attaching a job failed", "job", j.ID, "err", err)
		}
	}
	return nil
}

// mayAdopt: the job's backend is one this replica drives (whoever drove it
// before lost its lease, so nobody else follows its jobs); or the backend
// left the fleet and the job's lease is ours or has lapsed.
func (f *Fleet) mayAdopt(j *job.Job, now time.Time) bool {
	if b := f.backend(j.Backend); b != nil {
		return b.driven.Load()
	}
	return j.LeaseOwner == f.cfg.InstanceID || j.LeaseOwner == "" || now.After(j.LeaseUntil)
}

// adopt takes the job's lease and starts a run following it.
func (f *Fleet) adopt(ctx context.Context, id string) error {
	now := f.clock.Now()
	j, err := f.store.UpdateJob(ctx, id, func(j *job.Job) error {
		if !j.State.Active() || !f.mayAdopt(j, now) {
			return job.ErrConflict
		}
		j.LeaseOwner, j.LeaseUntil = f.cfg.InstanceID, now.Add(f.cfg.LeaseTTL)
		return nil
	})
	if errors.Is(err, job.ErrConflict) {
		return nil // someone else got there first, or it moved on
	}
	if err != nil {
		return err
	}
	b := f.backend(j.Backend)
	if b == nil {
		return f.requeueFromUnknown(ctx, j)
	}
	r := f.newRun(b, f.candidateOf(j))
	r.adoptJob(j, 0)
	r.blind.Store(true) // until /queue says whose it is
	r.setPhase(phaseQueued)
	if j.State == job.StateRunning {
		r.setPhase(phaseRunning)
	}
	b.forceReserve()
	b.addRun(r)
	f.log.Info("fleet: re-attaching job", "job", j.ID, "backend", b.ID(), "state", j.State)
	f.startRun(ctx, r, (*run).resume)
	return nil
}

// requeueFromUnknown retries a job bound to a backend that is no longer
// configured. Nobody can ask that backend, so the job may run there too if
// it still exists; an operator removing a backend is expected to drain it.
func (f *Fleet) requeueFromUnknown(ctx context.Context, j *job.Job) error {
	ghost := newBackend(BackendConfig{ID: j.Backend, MaxInflight: 1}, nil, "")
	r := f.newRun(ghost, f.candidateOf(j))
	r.adoptJob(j, 0)
	r.slotHeld = false
	r.retry(ctx, outcomeBackendLost, fmt.Sprintf("backend %q is no longer configured", j.Backend))
	return nil
}

// leaseLoop renews the leases of this replica's runs every LeaseTTL/3, and
// passes on cancels asked for through another replica.
func (f *Fleet) leaseLoop(ctx context.Context) {
	t := f.clock.NewTicker(max(f.cfg.LeaseTTL/3, time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		for _, r := range f.allLocalRuns() {
			f.renew(ctx, r)
		}
	}
}

func (f *Fleet) renew(ctx context.Context, r *run) {
	now := f.clock.Now()
	lost := false
	j, err := f.store.UpdateJob(ctx, r.jobID, func(j *job.Job) error {
		if !j.State.Active() {
			return errStale // not claimed yet, or already over
		}
		if j.LeaseOwner != f.cfg.InstanceID {
			lost = true
			return errStale
		}
		j.LeaseUntil = now.Add(f.cfg.LeaseTTL)
		return nil
	})
	switch {
	case lost:
		r.mbox.Push(msgLeaseLost{}, false)
	case err == nil && j.CancelRequested:
		r.mbox.Push(msgCancel{}, false)
	}
}

// releaseLeases ends this replica's leases on the jobs it leaves running on
// the backends at a graceful stop, so whoever starts next (this process
// again, or another replica) re-attaches them at once instead of waiting
// for LeaseTTL.
func (f *Fleet) releaseLeases(ctx context.Context) {
	now := f.clock.Now()
	for _, r := range f.allLocalRuns() {
		_, err := f.store.UpdateJob(ctx, r.jobID, func(j *job.Job) error {
			if !j.State.Active() || j.LeaseOwner != f.cfg.InstanceID {
				return errStale
			}
			j.LeaseUntil = now
			return nil
		})
		if err != nil && ctx.Err() != nil {
			return
		}
	}
}
