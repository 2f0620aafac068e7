package comfyapi

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/internal/job"
)

// onTap takes one message a backend sent about a job.
func (r *relay) onTap(jobID string, ev comfy.Event) {
	if jobID == "" {
		r.orphan(ev)
		return
	}
	if r.ended.has(jobID) {
		return
	}
	js := r.state(jobID)
	if js.info == nil {
		js.waiting = append(js.waiting, ev)
		r.lookup(js)
		return
	}
	r.process(js, ev)
}

// orphan passes on a message that belongs to no job (custom nodes'
// broadcasts while a backend is idle). Single-tenant, every socket gets
// it; with keys on there is no owner concerned, so nobody does. ComfyUI's
// own message types without a job are other clients' prompts on a shared
// backend: they are not ours to pass on.
func (r *relay) orphan(ev comfy.Event) {
	switch ev.(type) {
	case comfy.UnknownEvent, comfy.UnknownBinary, comfy.ProgressText:
	default:
		return // ComfyUI's own messages of prompts that are not ours
	}
	if r.h.cfg.multiTenant() {
		r.h.log.Debug("comfyapi: message of no job not passed on", "type", ev.EventType())
		return
	}
	if f, err := comfy.EncodeFrame(ev); err == nil {
		r.queueFor("").push(r, &entry{ready: true, frames: []outFrame{{broadcast: true, f: frame{binary: f.Binary, data: f.Data}}}})
	}
}

// lookup reads an unknown job (submitted elsewhere, or re-attached after
// a restart) to learn where its messages go.
func (r *relay) lookup(js *jobState) {
	if js.loading {
		return
	}
	js.loading = true
	id := js.id
	r.task(func(ctx context.Context) func() {
		j, err := r.h.store.GetJob(ctx, id)
		return func() {
			js := r.jobs[id]
			if js == nil || js.info != nil {
				return
			}
			if err != nil || j.State.Terminal() {
				if err != nil && !errors.Is(err, context.Canceled) {
					r.h.log.Warn("comfyapi: relaying messages of an unknown job", "job", id, "err", err)
				}
				delete(r.jobs, id) // a job that ended has nothing more to say
				r.ended.add(id)
				return
			}
			if js.backend == "" {
				js.backend = j.Backend
			}
			js.setInfo(r, infoOf(j, job.ComfyMetaOf(j)))
		}
	})
}

// process routes one message of a job whose info is known.
func (r *relay) process(js *jobState, ev comfy.Event) {
	info := js.info
	switch e := ev.(type) {
	case comfy.StatusData, comfy.FeatureFlags, comfy.Logs:
		return // the backend's own queue and negotiation: not the client's
	case comfy.ExecutionStart:
		js.started, js.cached = true, nil
		r.started.Store(js.id, true)
		e.PromptID = info.promptID
		// ComfyUI broadcasts status when its worker takes the prompt.
		r.emit(js, outFrame{status: true}, r.targeted(info, e))
	case comfy.ExecutionCached:
		js.cached = map[string]bool{}
		for _, n := range e.Nodes {
			js.cached[n] = true
		}
		e.PromptID = info.promptID
		r.emit(js, r.targeted(info, e))
	case comfy.Executing:
		if e.PromptID == "" {
			return // the re-sync of the fleet's own socket
		}
		e.PromptID = info.promptID
		if e.Done() {
			r.holdEnd(js, r.targeted(info, e))
			return
		}
		if info.hasClient {
			r.resync.set(info.owner, info.clientID, displayNode(e))
		}
		js.moves.Add(1)
		r.flushNames(js.id)
		r.emit(js, r.targeted(info, e))
	case comfy.Executed:
		e.PromptID = info.promptID
		r.executed(js, e)
	case comfy.ExecutionSuccess:
		e.PromptID = info.promptID
		r.holdEnd(js, r.targeted(info, e))
	case comfy.ExecutionError:
		e.PromptID = info.promptID
		e.CurrentInputs = unstage(e.CurrentInputs, info.renames)
		e.ExceptionMessage = r.h.gw.TextFor(info.owner, unstageText(e.ExceptionMessage, info.renames))
		e.Traceback = r.h.linesFor(info.owner, e.Traceback)
		if e.Blocked() { // a blocked branch: the run goes on
			r.emit(js, r.progressLike(info, e))
			return
		}
		r.holdEnd(js, r.targeted(info, e))
	case comfy.ExecutionInterrupted:
		e.PromptID = info.promptID
		r.holdEnd(js, r.progressLike(info, e))
	case comfy.Progress:
		e.PromptID = info.promptID
		r.emit(js, r.progressLike(info, e))
	case comfy.ProgressState:
		r.emit(js, r.progressLike(info, progressStateFor(e, info.promptID)))
	case comfy.PreviewImageWithMetadata:
		e.Meta.PromptID = info.promptID
		r.emit(js, r.previewFrame(info, &preview{meta: e.Meta, image: e.Image}))
	case comfy.PreviewImage:
		meta := comfy.PreviewMetadata{PromptID: info.promptID, ImageType: e.Format.MIMEType()}
		if node, ok := r.resync.get(info.owner, info.clientID); ok && info.hasClient {
			meta.NodeID, meta.DisplayNodeID, meta.RealNodeID = node, node, node
		}
		r.emit(js, r.previewFrame(info, &preview{meta: meta, image: e.Image}))
	case comfy.UnknownEvent:
		e.Data = withPromptID(e.Data, info.promptID)
		r.emit(js, broadcastFrame(e))
	default: // ProgressText, UnknownBinary: broadcast, as ComfyUI does
		r.emit(js, broadcastFrame(ev))
	}
}

func displayNode(e comfy.Executing) string {
	if e.DisplayNode != nil {
		return *e.DisplayNode
	}
	return *e.Node
}

func progressStateFor(e comfy.ProgressState, pid string) comfy.ProgressState {
	e.PromptID = pid
	nodes := make(map[string]comfy.NodeProgress, len(e.Nodes))
	for id, n := range e.Nodes {
		n.PromptID = pid
		nodes[id] = n
	}
	e.Nodes = nodes
	return e
}

// targeted is a message ComfyUI sends only to the prompt's client, and to
// nobody for a prompt without one.
func (r *relay) targeted(info *jobInfo, ev comfy.Event) outFrame {
	if !info.hasClient {
		return outFrame{}
	}
	return outFrame{to: info.clientID, f: textFrame(ev)}
}

// progressLike is a message ComfyUI sends to the prompt's client, or to
// every socket for a prompt without one.
func (r *relay) progressLike(info *jobInfo, ev comfy.Event) outFrame {
	if !info.hasClient {
		return outFrame{broadcast: true, f: textFrame(ev)}
	}
	return outFrame{to: info.clientID, f: textFrame(ev)}
}

func (r *relay) previewFrame(info *jobInfo, p *preview) outFrame {
	if !info.hasClient {
		return outFrame{broadcast: true, preview: p}
	}
	return outFrame{to: info.clientID, preview: p}
}

func broadcastFrame(ev comfy.Event) outFrame {
	f, err := comfy.EncodeFrame(ev)
	if err != nil {
		return outFrame{}
	}
	return outFrame{broadcast: true, f: frame{binary: f.Binary, data: f.Data}}
}

// emit sends frames in the owner's order; while the run's end is held,
// later messages of the run join it.
func (r *relay) emit(js *jobState, frames ...outFrame) {
	frames = dropEmpty(frames)
	if len(frames) == 0 {
		return
	}
	if js.hold != nil {
		js.hold.frames = append(js.hold.frames, frames...)
		return
	}
	r.queueFor(js.info.owner).push(r, &entry{ready: true, frames: frames})
}

// dropEmpty removes frames that go nowhere.
func dropEmpty(frames []outFrame) []outFrame {
	out := frames[:0]
	for _, f := range frames {
		if f.status || f.preview != nil || len(f.f.data) > 0 {
			out = append(out, f)
		}
	}
	return out
}

// executed relays a node's UI output under the names this surface shows.
// Naming may read or write the store, so it runs as a task while the
// entry holds the owner's later messages back; a new name is shown once
// stored, usually with the job's end (names_held.go).
func (r *relay) executed(js *jobState, e comfy.Executed) {
	info := *js.info
	if !info.hasClient || r.h.sockets.client(info.owner, info.clientID) == nil {
		return // nobody to tell: history names the files when asked
	}
	if js.hold != nil || !hasFiles(e.Output) {
		r.emit(js, r.targeted(&info, e))
		return
	}
	ent := &entry{}
	r.queueFor(info.owner).push(r, ent)
	backend, cached, id := js.backend, js.cached[e.Node], js.id
	moves, moved := &js.moves, js.moves.Load()
	r.task(func(ctx context.Context) func() {
		if backend == "" {
			if j, err := r.h.store.GetJob(ctx, id); err == nil {
				backend = j.Backend
			}
		}
		named := map[comfy.FileRef]*job.ComfyFile{}
		var batches []*heldBatch
		_, err := renameFiles(e.Output, func(ref comfy.FileRef) (comfy.FileRef, error) {
			f, b, err := r.h.names.heldOutputName(ctx, info.owner, id, backend, ref, cached)
			if err == nil {
				named[ref], batches = f, append(batches, b)
			}
			return ref, err
		})
		release := func() func() {
			for _, b := range batches {
				if err == nil {
					err = b.err
				}
			}
			var out json.RawMessage
			if err == nil {
				out, err = renameFiles(e.Output, func(ref comfy.FileRef) (comfy.FileRef, error) {
					return comfy.FileRef{Filename: named[ref].Filename, Subfolder: named[ref].Subfolder, Type: ref.Type}, nil
				})
			}
			return func() {
				if err != nil {
					r.h.log.Warn("comfyapi: naming outputs failed; relaying the backend's names", "job", id, "err", err)
				} else {
					e.Output = out
				}
				ent.frames = []outFrame{r.targeted(&info, e)}
				r.markReady(info.owner, ent)
			}
		}
		if err == nil && moves.Load() != moved {
			r.h.names.flushHeld(ctx, id) // the run moved on before these names were held
		}
		if err == nil && !allDone(batches) {
			r.afterStored(id, batches, release)
			return nil
		}
		return release()
	})
}

// flushNames stores the names held for job id's end on their own: the
// run moved on to another node, or ended without taking them.
func (r *relay) flushNames(id string) {
	if r.h.names.holds(id) {
		r.task(func(ctx context.Context) func() {
			r.h.names.flushHeld(ctx, id)
			return nil
		})
	}
}

// afterStored applies then's outcome on the loop once batches are stored,
// waiting off the loop and outside the bound of tasks: a held name waits
// for its job's end (names_held.go), which needs no task slot.
func (r *relay) afterStored(jobID string, batches []*heldBatch, then func() func()) {
	r.tasks.Add(1)
	go func() {
		defer r.tasks.Done()
		if r.h.names.waitStored(r.ctx, jobID, batches) {
			r.mbox.Push(resultItem{apply: then()}, false)
		}
	}()
}

func allDone(batches []*heldBatch) bool {
	for _, b := range batches {
		select {
		case <-b.done:
		default:
			return false
		}
	}
	return true
}

// hasFiles reports whether a UI output names any file.
func hasFiles(out json.RawMessage) bool {
	files, err := comfy.NodeOutputFiles(out)
	return err == nil && len(files) > 0
}
