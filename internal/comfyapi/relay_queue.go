package comfyapi

import (
	"sync/atomic"
	"time"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/internal/job"
)

// jobInfo is what the relay needs to route a job's messages.
type jobInfo struct {
	id       string
	owner    string
	clientID string
	promptID string // what the client knows the prompt as
	// hasClient: messages are targeted at clientID's socket (ComfyUI's
	// prompts with a client_id); otherwise some are broadcast to the
	// owner's sockets and the rest sent to nobody.
	hasClient bool
	// renames maps staged input names back to the client's upload names.
	renames map[string]string
}

func infoOf(j *job.Job, m job.ComfyMeta) jobInfo {
	has := m.Client || (j.Source != job.SourceComfy && j.ClientID != "")
	return jobInfo{id: j.ID, owner: j.Owner, clientID: j.ClientID, promptID: m.PromptIDFor(j), hasClient: has,
		renames: stagedRenames(j.Graph, m.Inputs)}
}

// jobState is the relay's view of one job's current attempt.
type jobState struct {
	id      string
	info    *jobInfo
	loading bool          // a store read for info is under way
	waiting []comfy.Event // messages that arrived before info
	backend string        // from the dispatched event
	started bool          // execution_start was relayed this attempt
	cached  map[string]bool
	hold    *entry    // the run's end, held until the job is finalized
	checked time.Time // when the store was last asked about a held end
	// moves counts the run's moves to a next node ("executing" a node),
	// read by naming tasks off the loop: names held for the job's end
	// are stored at once when the run moved on (see flushNames).
	moves atomic.Int64
}

func (r *relay) state(id string) *jobState {
	js := r.jobs[id]
	if js == nil {
		js = &jobState{id: id}
		r.jobs[id] = js
	}
	return js
}

// setInfo makes the job routable and replays what waited for it.
func (js *jobState) setInfo(r *relay, info jobInfo) {
	js.info, js.loading = &info, false
	waiting := js.waiting
	js.waiting = nil
	for _, ev := range waiting {
		r.process(js, ev)
	}
}

// outFrame is one message of an entry and where it goes.
type outFrame struct {
	// status is a status broadcast: with the count of a queue change that
	// happened (fixed), or counted when it is sent, which is when ComfyUI
	// would have sent it (a run's end, its worker taking the next one).
	status    bool
	fixed     bool
	count     int
	broadcast bool   // to every socket of the owner
	to        string // else the client id it is for
	f         frame
	preview   *preview // a preview image: its format is chosen per socket
}

// preview is a preview image in both wire formats.
type preview struct {
	meta  comfy.PreviewMetadata
	image []byte
}

func (p *preview) frame(metadata bool) frame {
	if metadata {
		if data, err := comfy.EncodePreviewWithMetadata(p.meta, p.image); err == nil {
			return frame{binary: true, data: data}
		}
	}
	format := comfy.FormatJPEG
	if p.meta.ImageType == "image/png" {
		format = comfy.FormatPNG
	}
	return frame{binary: true, data: comfy.EncodePreview(format, p.image)}
}

// entry is a run of messages in an owner's queue. An entry that is not
// ready (names being stored, a run's end waiting for its job to be
// finalized) holds back the owner's later entries, up to HoldTimeout.
type entry struct {
	frames   []outFrame
	ready    bool
	since    time.Time
	detached bool // timed out at the head: sent on its own when ready
}

// ownerQueue is one owner's messages in the order ComfyUI would send
// them, across all of the owner's jobs.
type ownerQueue struct {
	owner   string
	entries []*entry
	status  statusWindow
}

// statusWindow coalesces status broadcasts under load: at most
// StatusBurst per StatusEvery, then one with the latest count.
type statusWindow struct {
	start time.Time
	sent  int
	owed  bool
}

// fixedStatus is a status broadcast of count.
func fixedStatus(count int) outFrame { return outFrame{status: true, fixed: true, count: count} }

func (r *relay) queueFor(owner string) *ownerQueue {
	q := r.owners[owner]
	if q == nil {
		q = &ownerQueue{owner: owner}
		r.owners[owner] = q
	}
	return q
}

// push appends e and sends whatever is no longer held back.
func (q *ownerQueue) push(r *relay, e *entry) {
	if !e.ready {
		e.since = r.h.cfg.Clock()
	}
	q.entries = append(q.entries, e)
	r.flush(q)
}

// markReady releases e, in its place in the queue or, if it timed out
// there, on its own.
func (r *relay) markReady(owner string, e *entry) {
	e.ready = true
	if e.detached {
		r.sendEntry(r.queueFor(owner), e)
		return
	}
	r.flush(r.queueFor(owner))
}

// flush sends the ready entries at the head of q.
func (r *relay) flush(q *ownerQueue) {
	now := r.h.cfg.Clock()
	n := 0
	for ; n < len(q.entries); n++ {
		e := q.entries[n]
		if !e.ready {
			if now.Sub(e.since) < r.h.cfg.HoldTimeout {
				break
			}
			e.detached = true
			continue
		}
		r.sendEntry(q, e)
	}
	clear(q.entries[:n])
	q.entries = q.entries[n:]
}

// flushAll runs on a timer: held entries time out, owed statuses go out.
func (r *relay) flushAll() {
	for owner, q := range r.owners {
		r.flush(q)
		if q.status.owed && r.h.cfg.Clock().Sub(q.status.start) >= r.h.cfg.StatusEvery {
			r.sendStatus(q, r.h.tracker.count(q.owner))
		}
		if len(q.entries) == 0 && !q.status.owed && r.h.cfg.Clock().Sub(q.status.start) > time.Minute {
			delete(r.owners, owner)
		}
	}
}

func (r *relay) sendEntry(q *ownerQueue, e *entry) {
	for _, of := range e.frames {
		r.deliver(q, of)
	}
	e.frames = nil
}

func (r *relay) deliver(q *ownerQueue, of outFrame) {
	switch {
	case of.status:
		count := r.h.tracker.count(q.owner)
		if of.fixed {
			count = of.count
		}
		r.sendStatus(q, count)
	case of.broadcast:
		for _, s := range r.h.sockets.owned(q.owner) {
			f := of.f
			if of.preview != nil {
				f = of.preview.frame(false) // ComfyUI broadcasts previews as type 1
			}
			r.h.sockets.send(s, f)
		}
	default:
		s := r.h.sockets.client(q.owner, of.to)
		if s == nil {
			return // no such socket: dropped, as ComfyUI drops it
		}
		f := of.f
		if of.preview != nil {
			f = of.preview.frame(s.metadata.Load())
		}
		r.h.sockets.send(s, f)
	}
}

// sendStatus broadcasts the owner's queue_remaining, or owes it when the
// window's burst is spent.
func (r *relay) sendStatus(q *ownerQueue, count int) {
	now := r.h.cfg.Clock()
	w := &q.status
	if now.Sub(w.start) >= r.h.cfg.StatusEvery {
		w.start, w.sent = now, 0
	}
	if w.sent >= r.h.cfg.StatusBurst {
		w.owed = true
		return
	}
	w.sent++
	w.owed = false
	f := textFrame(comfy.StatusData{Status: comfy.PromptInfo{ExecInfo: comfy.ExecInfo{QueueRemaining: count}}})
	for _, s := range r.h.sockets.owned(q.owner) {
		r.h.sockets.send(s, f)
	}
}
