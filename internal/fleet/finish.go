package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/internal/job"
)

// historyTries bounds GET /history/{id} attempts at the end of a run.
const historyTries = 5

// finish collects a run ComfyUI is done with. The history entry is the
// authority on outcome and outputs; the socket may have missed things.
func (r *run) finish(ctx context.Context) {
	if entry, ok := r.heardAll(); ok {
		r.keepHistory(entry)
		r.succeeded(ctx, entry)
		return
	}
	entry, err := r.fetchHistory(ctx)
	if err == nil {
		r.keepHistory(entry)
	}
	switch {
	case ctx.Err() != nil:
		return
	case errors.Is(err, comfy.ErrNotFound):
		r.retry(ctx, outcomeBackendLost, "the backend finished the job but has no history of it")
		return
	case err != nil:
		r.b.addOrphan(r.promptID, r.jobID)
		r.retry(ctx, outcomeBackendDown, "reading the result from the backend failed: "+err.Error())
		return
	}
	switch outcomeOf(entry) {
	case comfy.EventExecutionSuccess:
		r.succeeded(ctx, entry)
	case comfy.EventExecutionInterrupted:
		r.interrupted(ctx)
	default:
		r.failed(ctx, entry)
	}
}

// heardAll returns the run's result as the socket told it, when the socket
// provably told all of it (see Config.VerifyHistory): a successful run whose
// start we saw, with no reconnect since the prompt was posted.
func (r *run) heardAll() (comfy.HistoryEntry, bool) {
	o := r.obs
	if r.f.cfg.VerifyHistory || !o.start || !o.success || o.merged || r.blind.Load() ||
		r.socketGen == 0 || r.socketGen != r.b.socketGen.Load() {
		return comfy.HistoryEntry{}, false
	}
	outputs := make(map[string]json.RawMessage, len(o.outputs))
	for node, out := range o.outputs {
		if len(out) > 0 && string(out) != "null" {
			outputs[node] = out
		}
	}
	return comfy.HistoryEntry{
		Outputs: outputs,
		Status:  comfy.HistoryStatus{StatusStr: comfy.StatusSuccess, Completed: true, Messages: o.messages},
		Meta:    o.meta,
	}, true
}

// fetchHistory reads the run's history entry, retrying briefly: a backend
// that just finished may be busy, and history can lag execution_success.
func (r *run) fetchHistory(ctx context.Context) (comfy.HistoryEntry, error) {
	var err error
	for i := range historyTries {
		hctx, cancel := context.WithTimeout(ctx, r.f.cfg.RequestTimeout)
		start := time.Now()
		var e comfy.HistoryEntry
		e, err = r.b.client.PromptHistory(hctx, r.promptID)
		cancel()
		r.f.m.observeRequest(r.b.ID(), "history", time.Since(start), err)
		if err == nil {
			return e, nil
		}
		if !sleepCtx(ctx, time.Duration(10<<i)*time.Millisecond) {
			return e, ctx.Err()
		}
	}
	return comfy.HistoryEntry{}, err
}

// outcomeOf reads how a run ended from its history entry.
func outcomeOf(e comfy.HistoryEntry) string {
	if o := e.Status.Outcome(); o != "" {
		return o
	}
	if e.Status.Completed || e.Status.StatusStr == comfy.StatusSuccess {
		return comfy.EventExecutionSuccess
	}
	return comfy.EventExecutionError
}

// succeeded copies the outputs off the backend and ends the job.
func (r *run) succeeded(ctx context.Context, entry comfy.HistoryEntry) {
	outs, err := r.collect(ctx, entry)
	var ve *viewError
	switch {
	case ctx.Err() != nil:
		return
	case errors.Is(err, errOutputsGone) && !r.busted:
		r.retry(ctx, outcomeOutputsGone, err.Error()+"; running it again without ComfyUI's cache")
		return
	case errors.As(err, &ve):
		r.b.addOrphan(r.promptID, r.jobID)
		r.retry(ctx, outcomeBackendDown, err.Error())
		return
	case err != nil:
		r.fail(ctx, &job.Error{Type: "output_error", Message: err.Error()})
		return
	}
	r.succeed(ctx, outs)
}

// succeed records the outputs' artifacts, each output as a durable event
// and the terminal transition in one transaction (one commit), so a
// stream sees every output before "succeeded" and nothing is recorded for
// a run that lost its binding. The blobs are durable already (the
// artifact store syncs each before Put returns).
func (r *run) succeed(ctx context.Context, outs []job.Output) {
	names := r.f.takeEndNames(r.jobID)
	defer names.stored(ctx) // before the events are announced
	j, evs, started, ok := r.transactNamed(ctx, func(j *job.Job, _ bool) ([]job.Event, error) {
		evs := make([]job.Event, 0, len(outs)+1)
		for _, o := range outs {
			evs = append(evs, *job.NewEvent(job.EventOutput, job.OutputDataOf(o)))
		}
		j.Outputs, j.Error = outs, nil
		j.Progress = job.Progress{Fraction: 1, NodesDone: r.prog.total, NodesTotal: r.prog.total}
		end, err := r.terminal(j, job.StateSucceeded, "")
		if err != nil {
			return nil, err
		}
		return append(evs, *end), nil
	}, names, r.artifactsOf(outs)...)
	if !ok {
		return
	}
	names.stored(ctx)
	r.b.done.Add(1) // before the events, as the metrics are
	r.announce(j, evs, started)
	r.removeFolder()
}

// artifactsOf returns the artifact records of the run's file outputs.
func (r *run) artifactsOf(outs []job.Output) []*job.Artifact {
	var arts []*job.Artifact
	for _, o := range outs {
		if o.ArtifactID == "" {
			continue // a text output
		}
		arts = append(arts, &job.Artifact{
			ID: o.ArtifactID, ContentType: o.ContentType, Size: o.Size, Owner: r.owner,
			JobID: r.jobID, NodeID: o.NodeID, Filename: o.Filename, Kind: job.ArtifactOutput,
		})
	}
	return arts
}

// interrupted ends a run ComfyUI interrupted: cancelled if we asked for it
// (now or before a restart), failed if someone else interrupted it.
func (r *run) interrupted(ctx context.Context) {
	if !r.cancelAsked && r.postedAt != 0 && r.b.stallInterruptAt.Load() >= r.postedAt {
		// Our own stall handling interrupted the prompt before this one
		// as it ended (ComfyUI's flag is global: stall.go). Not the
		// job's doing, and not the user's: run it again.
		r.retry(ctx, outcomeStallInterrupt, "interrupted on backend "+r.b.ID()+" by comfygate, which was interrupting a stalled prompt there")
		return
	}
	r.update(ctx, func(j *job.Job) (*job.Event, error) {
		if j.CancelRequested || r.cancelAsked {
			j.Error = nil
			return r.terminal(j, job.StateCancelled, "")
		}
		j.Error = &job.Error{Type: "interrupted", Message: "the run was interrupted on the backend, not by comfygate"}
		return r.terminal(j, job.StateFailed, "")
	})
}

// failed ends a run that raised: out-of-memory is retried (on a backend
// with room, after asking this one to free memory); anything else fails the
// job with ComfyUI's node, type, message and traceback.
func (r *run) failed(ctx context.Context, entry comfy.HistoryEntry) {
	e := executionError(entry, r.obs.execErr)
	if strings.Contains(e.ExceptionType, "OutOfMemory") {
		fctx, cancel := context.WithTimeout(ctx, r.f.cfg.RequestTimeout)
		_ = r.b.client.Free(fctx, comfy.FreeRequest{UnloadModels: true, FreeMemory: true})
		cancel()
		r.retry(ctx, outcomeOOM, "out of memory on "+r.b.ID()+": "+strings.TrimSpace(e.ExceptionMessage))
		return
	}
	msg := strings.TrimSpace(e.ExceptionMessage)
	if e.ExceptionType != "" {
		msg = e.ExceptionType + ": " + msg
	}
	if msg == "" {
		msg = fmt.Sprintf("the run failed (status %q)", entry.Status.StatusStr)
	}
	r.fail(ctx, &job.Error{Type: "execution_error", Message: msg, NodeID: e.NodeID, NodeType: e.NodeType, Traceback: e.Traceback})
}

// executionError finds the execution_error in the history messages, or
// falls back to the one seen on the socket.
func executionError(entry comfy.HistoryEntry, seen *comfy.ExecutionError) comfy.ExecutionError {
	for _, m := range entry.Status.Messages {
		if m.Event != comfy.EventExecutionError {
			continue
		}
		if ev, err := m.Decode(); err == nil {
			if e, ok := ev.(comfy.ExecutionError); ok {
				return e
			}
		}
	}
	if seen != nil {
		return *seen
	}
	return comfy.ExecutionError{}
}

// sleepCtx waits d or until ctx ends; it reports whether d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
