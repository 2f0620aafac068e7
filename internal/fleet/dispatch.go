package fleet

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/internal/job"
)

// claim binds the job to this run's backend with a compare-and-set in the
// store: only a queued or retrying job can be claimed, so two schedulers
// (replicas) never both send it.
func (r *run) claim(ctx context.Context) (*job.Job, bool) {
	if r.f.stopping.Load() {
		return nil, false
	}
	now := r.f.clock.Now()
	cancelled := false
	// The claim is deferred-sync: a power cut that rolls it back leaves
	// the job queued, and it is dispatched again.
	j, ev, err := r.f.store.UpdateJobWithEvent(job.DeferSync(ctx), r.jobID, func(j *job.Job) (*job.Event, error) {
		cancelled = j.State.Dispatchable() && j.CancelRequested
		return r.claimInto(j, now)
	})
	if err != nil {
		if errors.Is(err, job.ErrConflict) {
			r.f.m.claimLost.Inc() // claimed (or cancelled) elsewhere first
		}
		if ctx.Err() == nil && !errors.Is(err, job.ErrConflict) && !errors.Is(err, job.ErrNotFound) {
			r.f.log.Error("fleet: claim failed", "job", r.jobID, "err", err)
		}
		if cancelled {
			// A cancel reached the job while a run was handing it back
			// to the queue (a retry or a move): end it here, or it waits
			// for a dispatch that never comes.
			_, _, _ = r.f.cancelQueued(ctx, r.jobID)
		}
		return nil, false
	}
	r.claimed(j, ev)
	return j, true
}

// claimInto binds j to this run's backend and leases it to this replica,
// at now: the change a claim makes, inside the store transaction that
// records it, and the "dispatched" event it records. Only a dispatchable
// job without a cancel request can be claimed.
func (r *run) claimInto(j *job.Job, now time.Time) (*job.Event, error) {
	if !j.State.Dispatchable() || j.CancelRequested {
		return nil, job.ErrConflict
	}
	j.Backend = r.b.ID()
	if err := j.TransitionTo(job.StateDispatched, now); err != nil {
		return nil, err
	}
	j.LeaseOwner, j.LeaseUntil = r.f.cfg.InstanceID, now.Add(r.f.cfg.LeaseTTL)
	j.Progress, j.Error = job.Progress{}, nil
	return job.NewEvent(job.EventDispatched, job.DispatchedData{Backend: j.Backend, Attempt: j.Attempts}), nil
}

// claimed takes up the job a commit bound to this run (j and its
// "dispatched" event as stored): the run follows it from here.
func (r *run) claimed(j *job.Job, ev *job.Event) {
	r.adoptJob(j, 0)
	r.publish(j, ev)
	r.b.addRun(r) // before the POST, so no event of the prompt is missed
	r.b.setWarm(r.req)
	r.f.m.dispatched.WithLabelValues(r.b.ID()).Inc()
	r.f.m.setInflight(r.b)
}

// submit stages the job's inputs and posts it. keepGoing means ComfyUI has
// it; any other verdict is for conclude.
func (r *run) submit(ctx context.Context, j *job.Job) verdict {
	if err := r.stage(ctx); err != nil {
		return r.submitFailed(ctx, err)
	}
	graph := j.Graph
	if r.folder != "" {
		graph = intoFolder(graph, r.classOf, r.folder)
	}
	if needsCacheBust(j) {
		graph, r.busted = bustCache(graph, r.promptID), true
	}
	req := comfy.PromptRequest{
		Prompt:    graph,
		ClientID:  r.b.clientID,
		PromptID:  r.promptID,
		ExtraData: j.ExtraData,
	}
	// The job's output nodes are the ones collected, so ComfyUI need not
	// run any other. An empty list must not be sent: ComfyUI would run
	// nothing (prompt_no_outputs).
	if len(j.OutputNodes) > 0 {
		req.PartialExecutionTargets = j.OutputNodes
	}
	pctx, cancel := context.WithTimeout(ctx, r.f.cfg.RequestTimeout)
	defer cancel()
	r.socketGen = r.b.socketGen.Load()
	start := time.Now()
	resp, err := r.b.client.QueuePrompt(pctx, req)
	r.f.m.observeRequest(r.b.ID(), "prompt", time.Since(start), err)
	if err != nil {
		return r.submitFailed(ctx, err)
	}
	if resp.PartiallyValid() {
		r.f.log.Warn("fleet: backend dropped some outputs that failed validation", "job", r.jobID, "nodes", len(resp.NodeErrors))
	}
	r.setNumber(resp.Number)
	r.setPhase(phaseQueued)
	return keepGoing
}

// submitFailed decides what a failed stage or POST means. A rejected
// prompt fails the job for good; anything else may be the backend's fault,
// but the POST may have landed, so the backend is asked before the job is
// retried (never run a job twice).
func (r *run) submitFailed(ctx context.Context, err error) verdict {
	if ctx.Err() != nil {
		return vAbandon
	}
	var pe *comfy.PromptError
	var se *stageError
	switch {
	case errors.As(err, &pe):
		r.fail(ctx, promptJobError(pe))
		return vEnded
	case errors.As(err, &se) && se.permanent:
		r.fail(ctx, &job.Error{Type: "input_missing", Message: se.Error()})
		return vEnded
	}
	r.f.log.Warn("fleet: submit failed", "job", r.jobID, "backend", r.b.ID(), "err", err)
	r.f.markDegraded(r.b, "submit failed", err)
	r.setPhase(phaseQueued) // from here on the prompt may exist on the backend
	v := r.reconcile(ctx, "submit failed")
	if v == vLost {
		r.retry(ctx, outcomeSubmit, "submit to backend failed: "+err.Error())
		return vEnded
	}
	return v
}

// promptJobError turns ComfyUI's 400 into the job's error, naming the first
// node at fault.
func promptJobError(pe *comfy.PromptError) *job.Error {
	e := &job.Error{Type: pe.Info.Type, Message: pe.Info.Message}
	if e.Type == "" {
		e.Type = "invalid_prompt"
	}
	if pe.Info.Details != "" {
		e.Message += ": " + pe.Info.Details
	}
	ids := sortedKeys(pe.NodeErrors)
	if len(ids) == 0 {
		return e
	}
	first := pe.NodeErrors[ids[0]]
	e.NodeID, e.NodeType = ids[0], first.ClassType
	if len(first.Errors) > 0 {
		e.Message += fmt.Sprintf(" (node %s: %s)", ids[0], first.Errors[0].Error())
	}
	return e
}
