package comfyapi

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/internal/comfywire"
	"github.com/comfygate/comfygate/internal/gateway"
	"github.com/comfygate/comfygate/internal/job"
)

// maxListed bounds the jobs one /queue or /history answer walks through
// (ComfyUI keeps at most 10,000 history entries).
const maxListed = 10000

var (
	// pendingStates are the jobs still in comfygate's own queue.
	pendingStates = []job.State{job.StateQueued, job.StateRetrying}
	// boundStates are the jobs a backend has: prefetched into its ComfyUI
	// queue (dispatched) or executing there. Only those h.running says
	// execute are "running" to ComfyUI's clients; the rest are pending.
	boundStates = []job.State{job.StateDispatched, job.StateRunning}
)

// activeStates are the jobs ComfyUI would count in queue_remaining.
func activeStates() []job.State { return append(slices.Clone(pendingStates), boundStates...) }

// getQueue is GET /queue: the caller's part of the gateway-wide queue as
// ComfyUI's 5-element arrays. queue_running lists what executes, as in
// ComfyUI, but one prompt per busy backend rather than at most one: a
// fleet runs several at once. A prompt a backend holds in its own queue
// (prefetched, not started) is pending, as it is in that backend's
// /queue. queue_pending is in run order: the prefetched prompts first,
// then comfygate's queue.
func (h *Handler) getQueue(c *call) error {
	ctx := c.r.Context()
	active, err := h.listJobs(ctx, c.owner, activeStates(), maxListed, job.OrderAsc)
	if err != nil {
		return failed("reading the queue", err)
	}
	running, pending := h.splitQueue(active)
	s := &jsonStream{w: c.w}
	s.writeString(`{"queue_running":`)
	if err := h.writeQueueItems(ctx, s, running); err != nil {
		return s.fail(failed("reading the queue", err))
	}
	s.writeString(`,"queue_pending":`)
	if err := h.writeQueueItems(ctx, s, pending); err != nil {
		return s.fail(failed("reading the queue", err))
	}
	s.writeString("}")
	s.end()
	return nil
}

// writeQueueItems writes a JSON array of the lean jobs' queue items, each
// job loaded whole in turn.
func (h *Handler) writeQueueItems(ctx context.Context, s *jsonStream, lean []*job.Job) error {
	s.writeString("[")
	for i, l := range lean {
		j, err := h.whole(ctx, l)
		if err != nil {
			return err
		}
		item, err := marshalJSON(queueItem(j, job.ComfyMetaOf(j)))
		if err != nil {
			return err
		}
		if i > 0 {
			s.writeString(",")
		}
		s.write(item)
	}
	s.writeString("]")
	return s.err
}

// marshalJSON is json.Marshal without HTML escaping, as writeJSON writes.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// splitQueue divides active jobs (oldest first) into those that execute
// and the pending rest in run order: prefetched onto a backend first,
// then comfygate's queue by priority, FIFO within one.
func (h *Handler) splitQueue(active []*job.Job) (running, pending []*job.Job) {
	var waiting []*job.Job
	for _, j := range active {
		switch {
		case h.running(j):
			running = append(running, j)
		case j.State.Active():
			pending = append(pending, j)
		default:
			waiting = append(waiting, j)
		}
	}
	slices.SortStableFunc(waiting, func(a, b *job.Job) int {
		if a.Priority != b.Priority {
			return b.Priority - a.Priority
		}
		return cmp.Compare(a.Seq, b.Seq)
	})
	return running, append(pending, waiting...)
}

// queueItem is [number, prompt_id, prompt, extra_data, outputs] as the
// client sent them: its own upload names, its prompt_id, and extra_data
// without credentials.
func queueItem(j *job.Job, m job.ComfyMeta) comfy.QueueItem {
	return comfy.QueueItem{
		Number:           numberOf(j, m),
		PromptID:         m.PromptIDFor(j),
		Prompt:           clientGraph(j.Graph, m.Inputs),
		ExtraData:        publicExtra(j.ExtraData),
		OutputsToExecute: slices.Clone(j.OutputNodes),
	}
}

func numberOf(j *job.Job, m job.ComfyMeta) json.Number {
	if m.Number != "" {
		return m.Number
	}
	return json.Number(strconv.FormatInt(int64(j.Number), 10))
}

// publicExtra is extra_data without credentials: the Comfy.org token keys
// ComfyUI 0.3.64 itself still shows in /queue, and any other key that
// looks like a secret.
func publicExtra(raw json.RawMessage) json.RawMessage {
	var m map[string]json.RawMessage
	if len(raw) == 0 || json.Unmarshal(raw, &m) != nil {
		return json.RawMessage("{}")
	}
	for k := range m {
		if secretKey(k) || k == extraKey {
			delete(m, k)
		}
	}
	out, err := json.Marshal(m)
	if err != nil {
		return json.RawMessage("{}")
	}
	return out
}

func secretKey(k string) bool {
	l := strings.ToLower(k)
	for _, s := range []string{"auth_token", "api_key", "apikey", "token", "secret", "password", "credential"} {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// getPrompt is GET /prompt: the caller's pending + running count.
func (h *Handler) getPrompt(c *call) error {
	writeJSON(c.w, http.StatusOK, comfy.PromptInfo{ExecInfo: comfy.ExecInfo{QueueRemaining: h.tracker.count(c.owner)}})
	return nil
}

// postQueue is POST /queue: {"clear": true} cancels the caller's pending
// jobs, {"delete": [ids]} the named ones that are still pending (those
// queue_pending lists); a prompt that executes is not touched, as ComfyUI
// leaves its running prompt. An empty 200, or the 500s Python raises on
// odd bodies (after the clear, as in Python).
func (h *Handler) postQueue(c *call) error {
	v, err := h.readJSON(c)
	if err != nil {
		return err
	}
	clear, err := comfywire.ClearRequested(v)
	if err != nil {
		return errPython
	}
	if clear {
		active, err := h.listJobs(c.r.Context(), c.owner, activeStates(), maxListed, job.OrderAsc)
		if err != nil {
			return failed("reading the queue", err)
		}
		h.cancelPending(c.r.Context(), c.owner, active)
	}
	named, err := h.namedJobs(c, v)
	if err != nil {
		return err
	}
	h.cancelPending(c.r.Context(), c.owner, named)
	writeEmpty(c.w, http.StatusOK)
	return nil
}

// namedJobs resolves {"delete": [...]} to the caller's jobs.
func (h *Handler) namedJobs(c *call, v any) ([]*job.Job, error) {
	ids, err := deleteIDs(v, false)
	if err != nil {
		return nil, err
	}
	var out []*job.Job
	for _, s := range ids {
		j, _, err := h.findJob(c.r.Context(), c.owner, s)
		if errors.Is(err, errNoJob) {
			continue
		}
		if err != nil {
			return nil, failed("finding the prompt", err)
		}
		out = append(out, j)
	}
	return out, nil
}

// cancelPending cancels those of jobs that are pending (in comfygate's
// queue, or prefetched into a backend's) and sends one status broadcast,
// as ComfyUI does per queue change. It reports whether any was cancelled.
//
// A prefetched prompt is deleted from its backend's queue; should the
// backend start it in the moment between, the fleet interrupts it, where
// ComfyUI, deciding both under one lock, would have let it run: either
// way the caller's "not this one" holds.
func (h *Handler) cancelPending(ctx context.Context, owner string, jobs []*job.Job) bool {
	// comfygate's queue first: a backend slot freed by a prefetched prompt
	// must not pull in a job that is about to be cancelled too.
	jobs = slices.Clone(jobs)
	slices.SortStableFunc(jobs, func(a, b *job.Job) int {
		switch {
		case a.State.Active() == b.State.Active():
			return 0
		case b.State.Active():
			return -1
		}
		return 1
	})
	changed, cancelled := false, false
	for _, j := range jobs {
		if !h.pending(j) {
			continue
		}
		got, err := h.gw.CancelJob(ctx, owner, j.ID)
		if err != nil {
			h.log.Warn("comfyapi: cancel failed", "job", j.ID, "err", err)
			continue
		}
		if got.State == job.StateCancelled {
			cancelled = true
			changed = h.tracker.remove(owner, j.ID) || changed
		}
	}
	if changed {
		h.relay.status(owner, h.tracker.count(owner))
	}
	return cancelled
}

// postInterrupt is POST /interrupt: {"prompt_id": id} interrupts that
// prompt if it runs; without one, every running prompt of the caller (the
// fleet runs several). Always an empty 200; a JSON body that is not an
// object is a 500, a body that is not JSON counts as {}.
func (h *Handler) postInterrupt(c *call) error {
	v, err := h.decodeBody(c)
	if err != nil && !errors.Is(err, comfywire.ErrNotJSON) {
		return err
	}
	if err != nil {
		v = map[string]any{}
	}
	pid, err := pyDictGet(v, "prompt_id")
	if err != nil {
		return errPython
	}
	ctx := c.r.Context()
	var targets []*job.Job
	if truthy(pid) {
		if s, ok := pid.(string); ok {
			if j, _, err := h.findJob(ctx, c.owner, s); err == nil {
				targets = append(targets, j)
			}
		}
	} else if targets, err = h.listJobs(ctx, c.owner, boundStates, maxListed, job.OrderAsc); err != nil {
		return failed("reading the queue", err)
	}
	for _, j := range targets {
		if !h.running(j) {
			continue // ComfyUI only interrupts the prompt that runs
		}
		if _, err := h.gw.CancelJob(ctx, c.owner, j.ID); err != nil {
			h.log.Warn("comfyapi: interrupt failed", "job", j.ID, "err", err)
		}
	}
	writeEmpty(c.w, http.StatusOK)
	return nil
}

// running reports whether j executes on its backend: the store says so,
// or the relay already told clients so (the store follows a moment later).
// A dispatched job that has not started waits in the backend's queue.
func (h *Handler) running(j *job.Job) bool {
	if j.State == job.StateRunning {
		return true
	}
	_, ok := h.relay.started.Load(j.ID)
	return ok && j.State == job.StateDispatched
}

// pending reports whether j waits: in comfygate's queue, or prefetched
// into its backend's and not started there.
func (h *Handler) pending(j *job.Job) bool {
	return j.State.Dispatchable() || j.State.Active() && !h.running(j)
}

// postFree is POST /free. Single-tenant, it is passed to every healthy
// backend. With API keys on it does nothing: unloading models or dropping
// the node cache under other keys' jobs is not one caller's decision.
func (h *Handler) postFree(c *call) error {
	v, err := h.readJSON(c)
	if err != nil {
		return err
	}
	unload, err := pyDictGet(v, "unload_models")
	if err != nil {
		return errPython
	}
	free, _ := pyDictGet(v, "free_memory")
	req := comfy.FreeRequest{UnloadModels: truthy(unload), FreeMemory: truthy(free)}
	if !h.cfg.multiTenant() && (req.UnloadModels || req.FreeMemory) {
		h.eachBackend(c.r.Context(), func(ctx context.Context, _ gateway.Backend, cl *comfy.Client) error { return cl.Free(ctx, req) })
	}
	writeEmpty(c.w, http.StatusOK)
	return nil
}
