package comfyapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/internal/comfywire"
	"github.com/comfygate/comfygate/internal/job"
)

// maxListed bounds the jobs one /queue or /history answer walks through
// (ComfyUI keeps at most 10,000 history entries).
const maxListed = 10000

var (
	pendingStates = []job.State{job.StateQueued, job.StateRetrying}
	runningStates = []job.State{job.StateDispatched, job.StateRunning}
)

// listJobs returns up to max of owner's jobs in states, in order (oldest
// first with job.OrderAsc).
func (h *Handler) listJobs(ctx context.Context, owner string, states []job.State, max int, order job.Order) ([]*job.Job, error) {
	var out []*job.Job
	f := job.JobFilter{Owner: owner, States: states, Order: order, Limit: job.MaxListLimit}
	for len(out) < max {
		page, next, err := h.store.ListJobs(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("list jobs: %w", err)
		}
		out = append(out, page...)
		if next == "" {
			break
		}
		f.Cursor = next
	}
	if len(out) > max {
		out = out[:max]
	}
	return out, nil
}

// getQueue is GET /queue: the caller's part of the gateway-wide queue as
// ComfyUI's 5-element arrays. queue_running lists every job a backend has
// (dispatched or running), not at most one as in ComfyUI: a fleet runs
// several at once, and clients that poll /queue to learn whether a prompt
// is still in the works must find every one of them. queue_pending is in
// run order.
func (h *Handler) getQueue(c *call) {
	ctx := c.r.Context()
	active, err := h.listJobs(ctx, c.owner, append(slices.Clone(pendingStates), runningStates...), maxListed, job.OrderAsc)
	if err != nil {
		h.unavailable(c, "reading the queue", err)
		return
	}
	var pending []*job.Job
	resp := comfy.QueueStatus{Running: []comfy.QueueItem{}, Pending: []comfy.QueueItem{}}
	for _, j := range active {
		if j.State.Active() {
			resp.Running = append(resp.Running, queueItem(j, metaOf(j)))
		} else {
			pending = append(pending, j)
		}
	}
	slices.SortStableFunc(pending, func(a, b *job.Job) int {
		if a.Priority != b.Priority {
			return b.Priority - a.Priority
		}
		return int(a.Seq - b.Seq)
	})
	for _, j := range pending {
		resp.Pending = append(resp.Pending, queueItem(j, metaOf(j)))
	}
	writeJSON(c.w, http.StatusOK, resp)
}

// queueItem is [number, prompt_id, prompt, extra_data, outputs] as the
// client sent them: its own upload names, its prompt_id, and extra_data
// without credentials.
func queueItem(j *job.Job, m comfyMeta) comfy.QueueItem {
	return comfy.QueueItem{
		Number:           numberOf(j, m),
		PromptID:         promptIDOf(j, m),
		Prompt:           clientGraph(j.Graph, m.Inputs),
		ExtraData:        publicExtra(j.ExtraData),
		OutputsToExecute: slices.Clone(j.OutputNodes),
	}
}

func numberOf(j *job.Job, m comfyMeta) json.Number {
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
func (h *Handler) getPrompt(c *call) {
	writeJSON(c.w, http.StatusOK, comfy.PromptInfo{ExecInfo: comfy.ExecInfo{QueueRemaining: h.tracker.count(c.owner)}})
}

// postQueue is POST /queue: {"clear": true} cancels the caller's pending
// jobs, {"delete": [ids]} the named ones that are still pending; a job a
// backend has is not touched (as ComfyUI leaves the running prompt). An
// empty 200, or the 500s Python raises on odd bodies.
func (h *Handler) postQueue(c *call) {
	v, ok := h.readJSON(c)
	if !ok {
		return
	}
	var targets []*job.Job
	clear, err := comfywire.ClearRequested(v)
	if err != nil {
		internalError(c.w)
		return
	}
	if clear {
		if targets, err = h.listJobs(c.r.Context(), c.owner, pendingStates, maxListed, job.OrderAsc); err != nil {
			h.unavailable(c, "reading the queue", err)
			return
		}
	}
	more, ok := h.namedJobs(c, v)
	if !ok {
		return
	}
	targets = append(targets, more...)
	h.cancelPending(c.r.Context(), c.owner, targets)
	writeEmpty(c.w, http.StatusOK)
}

// namedJobs resolves {"delete": [...]} to the caller's jobs.
func (h *Handler) namedJobs(c *call, v any) ([]*job.Job, bool) {
	ids, err := comfywire.DeleteIDs(v)
	if err != nil {
		internalError(c.w)
		return nil, false
	}
	var out []*job.Job
	for _, id := range ids {
		s, ok := id.(string)
		if !ok {
			continue
		}
		j, _, err := h.findJob(c.r.Context(), c.owner, s)
		if errors.Is(err, errNoJob) {
			continue
		}
		if err != nil {
			h.unavailable(c, "finding the prompt", err)
			return nil, false
		}
		out = append(out, j)
	}
	return out, true
}

// cancelPending cancels those of jobs that still wait in comfygate's queue
// and sends one status broadcast, as ComfyUI does per queue change. It
// reports whether any was cancelled.
func (h *Handler) cancelPending(ctx context.Context, owner string, jobs []*job.Job) bool {
	changed, cancelled := false, false
	for _, j := range jobs {
		if !j.State.Dispatchable() {
			continue
		}
		got, err := h.fleet.Cancel(ctx, j.ID)
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
func (h *Handler) postInterrupt(c *call) {
	v, answered, err := h.decodeBody(c)
	if answered {
		return
	}
	if err != nil {
		v = map[string]any{}
	}
	pid, err := pyDictGet(v, "prompt_id")
	if err != nil {
		internalError(c.w)
		return
	}
	ctx := c.r.Context()
	var targets []*job.Job
	if truthy(pid) {
		if s, ok := pid.(string); ok {
			if j, _, err := h.findJob(ctx, c.owner, s); err == nil {
				targets = append(targets, j)
			}
		}
	} else if targets, err = h.listJobs(ctx, c.owner, runningStates, maxListed, job.OrderAsc); err != nil {
		h.unavailable(c, "reading the queue", err)
		return
	}
	for _, j := range targets {
		if !h.running(j) {
			continue // ComfyUI only interrupts the prompt that runs
		}
		if _, err := h.fleet.Cancel(ctx, j.ID); err != nil {
			h.log.Warn("comfyapi: interrupt failed", "job", j.ID, "err", err)
		}
	}
	writeEmpty(c.w, http.StatusOK)
}

// running reports whether j runs on its backend: the store says so, or
// the relay already told clients so (the store follows a moment later).
func (h *Handler) running(j *job.Job) bool {
	if j.State == job.StateRunning {
		return true
	}
	_, ok := h.relay.started.Load(j.ID)
	return ok && j.State == job.StateDispatched
}

// postFree is POST /free. Single-tenant, it is passed to every healthy
// backend. With API keys on it does nothing: unloading models or dropping
// the node cache under other keys' jobs is not one caller's decision.
func (h *Handler) postFree(c *call) {
	v, ok := h.readJSON(c)
	if !ok {
		return
	}
	unload, err := pyDictGet(v, "unload_models")
	if err != nil {
		internalError(c.w)
		return
	}
	free, _ := pyDictGet(v, "free_memory")
	req := comfy.FreeRequest{UnloadModels: truthy(unload), FreeMemory: truthy(free)}
	if !h.cfg.multiTenant() && (req.UnloadModels || req.FreeMemory) {
		h.eachBackend(c.r.Context(), func(ctx context.Context, _ Backend, cl *comfy.Client) error { return cl.Free(ctx, req) })
	}
	writeEmpty(c.w, http.StatusOK)
}

// eachBackend runs fn against every healthy backend at once (every
// backend, when none is healthy: one that is merely slow to answer its
// probes still knows what it is), each bounded by BackendTimeout;
// failures are logged.
func (h *Handler) eachBackend(ctx context.Context, fn func(context.Context, Backend, *comfy.Client) error) {
	var g errgroup.Group
	for _, b := range usable(h.fleet.Backends()) {
		g.Go(func() error {
			cl, err := h.client(b)
			if err == nil {
				bctx, cancel := context.WithTimeout(ctx, h.cfg.BackendTimeout)
				err = fn(bctx, b, cl)
				cancel()
			}
			if err != nil {
				h.log.Warn("comfyapi: backend request failed", "backend", b.ID, "err", err)
			}
			return nil
		})
	}
	_ = g.Wait()
}

// usable are the healthy backends, or all of them when none is.
func usable(all []Backend) []Backend {
	var out []Backend
	for _, b := range all {
		if b.Healthy {
			out = append(out, b)
		}
	}
	if len(out) == 0 {
		return all
	}
	return out
}

// client is a ComfyUI client for b.
func (h *Handler) client(b Backend) (*comfy.Client, error) {
	opts := []comfy.Option{comfy.WithHTTPClient(h.cfg.HTTPClient)}
	for k, vs := range b.Header {
		for _, v := range vs {
			opts = append(opts, comfy.WithHeader(k, v))
		}
	}
	return comfy.NewClient(b.URL, opts...)
}
