package comfyapi

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	pendingStates = []job.State{job.StateQueued, job.StateRetrying}
	runningStates = []job.State{job.StateDispatched, job.StateRunning}
)

// activeRefs are the owner's jobs in states, oldest first, at most
// maxListed of them.
func (h *Handler) activeRefs(ctx context.Context, owner string, states []job.State) ([]jobRef, error) {
	refs, err := h.refs(ctx, job.JobFilter{Owner: owner, States: states, Order: job.OrderAsc}, maxListed, nil)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	return refs, nil
}

// getQueue is GET /queue: the caller's part of the gateway-wide queue as
// ComfyUI's 5-element arrays. queue_running lists every job a backend has
// (dispatched or running), not at most one as in ComfyUI: a fleet runs
// several at once, and clients that poll /queue to learn whether a prompt
// is still in the works must find every one of them. queue_pending is in
// run order. Each item is loaded and written in turn (see listing.go).
func (h *Handler) getQueue(c *call) error {
	ctx := c.r.Context()
	active, err := h.activeRefs(ctx, c.owner, append(slices.Clone(pendingStates), runningStates...))
	if err != nil {
		return failed("reading the queue", err)
	}
	var running, pending []jobRef
	for _, r := range active {
		if r.state.Active() {
			running = append(running, r)
		} else {
			pending = append(pending, r)
		}
	}
	slices.SortStableFunc(pending, func(a, b jobRef) int {
		if a.priority != b.priority {
			return b.priority - a.priority
		}
		return cmp.Compare(a.seq, b.seq)
	})
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

// writeQueueItems writes a JSON array of the refs' queue items.
func (h *Handler) writeQueueItems(ctx context.Context, s *jsonStream, refs []jobRef) error {
	s.writeString("[")
	for i, r := range refs {
		j, err := h.load(ctx, r)
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
		if secretKey(k) {
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
// jobs, {"delete": [ids]} the named ones that are still pending; a job a
// backend has is not touched (as ComfyUI leaves the running prompt). An
// empty 200, or the 500s Python raises on odd bodies (after the clear, as
// in Python).
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
		pending, err := h.activeRefs(c.r.Context(), c.owner, pendingStates)
		if err != nil {
			return failed("reading the queue", err)
		}
		h.cancelPending(c.r.Context(), c.owner, pending)
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
func (h *Handler) namedJobs(c *call, v any) ([]jobRef, error) {
	ids, err := deleteIDs(v, false)
	if err != nil {
		return nil, err
	}
	var out []jobRef
	for _, id := range ids {
		j, _, err := h.findJob(c.r.Context(), c.owner, id)
		if errors.Is(err, errNoJob) {
			continue
		}
		if err != nil {
			return nil, failed("finding the prompt", err)
		}
		out = append(out, refOf(j))
	}
	return out, nil
}

// cancelPending cancels those of jobs that still wait in comfygate's queue
// and sends one status broadcast, as ComfyUI does per queue change. It
// reports whether any was cancelled.
func (h *Handler) cancelPending(ctx context.Context, owner string, jobs []jobRef) bool {
	changed, cancelled := false, false
	for _, j := range jobs {
		if !j.state.Dispatchable() {
			continue
		}
		got, err := h.gw.CancelJob(ctx, owner, j.id)
		if err != nil {
			h.log.Warn("comfyapi: cancel failed", "job", j.id, "err", err)
			continue
		}
		if got.State == job.StateCancelled {
			cancelled = true
			changed = h.tracker.remove(owner, j.id) || changed
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
	var targets []jobRef
	if truthy(pid) {
		if s, ok := pid.(string); ok {
			if j, _, err := h.findJob(ctx, c.owner, s); err == nil {
				targets = append(targets, refOf(j))
			}
		}
	} else if targets, err = h.activeRefs(ctx, c.owner, runningStates); err != nil {
		return failed("reading the queue", err)
	}
	for _, j := range targets {
		if !h.running(j.id, j.state) {
			continue // ComfyUI only interrupts the prompt that runs
		}
		if _, err := h.gw.CancelJob(ctx, c.owner, j.id); err != nil {
			h.log.Warn("comfyapi: interrupt failed", "job", j.id, "err", err)
		}
	}
	writeEmpty(c.w, http.StatusOK)
	return nil
}

// running reports whether job id runs on its backend: the store says so, or
// the relay already told clients so (the store follows a moment later).
func (h *Handler) running(id string, state job.State) bool {
	if state == job.StateRunning {
		return true
	}
	_, ok := h.relay.started.Load(id)
	return ok && state == job.StateDispatched
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
