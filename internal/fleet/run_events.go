package fleet

import (
	"context"
	"encoding/json"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/internal/job"
)

// observed is what the socket told about a run. History wins over it at
// the end; it is kept for logs and for runs whose history lacks detail.
type observed struct {
	outputs     map[string]json.RawMessage
	start       bool // execution_start was seen
	merged      bool // an executed message asked to be merged (history merges)
	success     bool
	execErr     *comfy.ExecutionError
	interrupted *comfy.ExecutionInterrupted
	// messages and meta are the history entry's status.messages and meta
	// as the socket told them (see record).
	messages []comfy.StatusMessage
	meta     map[string]comfy.OutputMeta
}

// onEvent applies one socket event. Only the final "executing" (node null)
// ends the run: history is written by then.
func (r *run) onEvent(ctx context.Context, ev comfy.Event) verdict {
	r.obs.record(ev)
	switch e := ev.(type) {
	case comfy.ExecutionStart:
		r.obs.start = true
		r.markStarted(ctx)
	case comfy.ExecutionCached:
		r.markStarted(ctx)
		for _, n := range e.Nodes {
			r.prog.markCached(n)
		}
	case comfy.Executing:
		if e.Done() {
			if e.PromptID == r.promptID {
				r.prog.end(r.f.clock.Now(), r.f.costs)
				return vFinished
			}
			return keepGoing
		}
		r.markStarted(ctx)
		r.onNode(ctx, *e.Node)
	case comfy.Progress:
		r.onProgress(ctx, e)
	case comfy.ProgressState:
		for id, np := range e.Nodes {
			if np.State == comfy.NodeStateFinished {
				r.prog.markDone(id)
			}
		}
	case comfy.Executed:
		if r.obs.outputs == nil {
			r.obs.outputs = map[string]json.RawMessage{}
		}
		r.obs.outputs[e.Node] = e.Output
		r.obs.merged = r.obs.merged || e.Merge != nil && *e.Merge
	case comfy.ExecutionSuccess:
		r.obs.success = true
	case comfy.ExecutionError:
		if !e.Blocked() { // a blocked branch does not end the run
			r.obs.execErr = &e
		}
	case comfy.ExecutionInterrupted:
		r.obs.interrupted = &e
	case comfy.PreviewImageWithMetadata:
		r.onPreview(e.Meta.NodeID, e.Meta.ImageType, e.Image)
	case comfy.PreviewImage:
		r.onPreview(r.prog.node, e.Format.MIMEType(), e.Image)
	}
	return keepGoing
}

// onNode: a node started, so the one before it finished (a re-staged lazy
// node may start twice; the set keeps the count honest).
func (r *run) onNode(ctx context.Context, node string) {
	if r.prog.node != node {
		r.prog.start(node, r.f.clock.Now(), r.f.costs)
	}
	r.publishEphemeral(job.EventNode, job.NodeData{Node: node, NodeType: r.classOf[node]})
	r.progressed(ctx)
}

func (r *run) onProgress(ctx context.Context, e comfy.Progress) {
	if e.Node != nil && *e.Node != r.prog.node {
		r.onNode(ctx, *e.Node)
	}
	value, _ := e.Value.Float64()
	maxValue, _ := e.Max.Float64()
	r.prog.step(value, maxValue, r.f.clock.Now())
	r.progressed(ctx)
}

// progressed publishes a progress event and, at most every ProgressEvery,
// writes the progress into the job (status reads see it; the event stream
// gets every step).
func (r *run) progressed(ctx context.Context) {
	p := r.snapshotProgress()
	r.publishEphemeral(job.EventProgress, p)
	now := r.f.clock.Now()
	if now.Sub(r.prog.lastPersist) < r.f.cfg.ProgressEvery {
		return
	}
	r.prog.lastPersist = now
	r.recordStart(ctx) // first, should the window still be open
	// Deferred-sync: progress lost to a power cut is redone by the run.
	_, err := r.f.store.UpdateJob(job.DeferSync(ctx), r.jobID, func(j *job.Job) error {
		if !r.bound(j) {
			return errStale
		}
		j.Progress = p
		return nil
	})
	if err != nil && ctx.Err() == nil {
		r.f.log.Debug("fleet: progress not saved", "job", r.jobID, "err", err)
	}
}

func (r *run) snapshotProgress() job.Progress {
	return job.Progress{
		Node: r.prog.node, NodeType: r.classOf[r.prog.node],
		Value: r.prog.value, Max: r.prog.max, Fraction: r.prog.fraction(),
		NodesDone: len(r.prog.done), NodesTotal: r.prog.total,
	}
}

// onPreview publishes a live preview, at most one per PreviewEvery.
func (r *run) onPreview(node, imageType string, img []byte) {
	now := r.f.clock.Now()
	if now.Sub(r.prog.lastPreview) < r.f.cfg.PreviewEvery {
		return
	}
	r.prog.lastPreview = now
	r.publishEphemeral(job.EventPreview, job.PreviewData{Node: node, ImageType: imageType, Image: img})
}
