package comfyapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/comfygate/comfygate/internal/comfywire"
	"github.com/comfygate/comfygate/internal/job"
)

var terminalStates = []job.State{job.StateSucceeded, job.StateFailed, job.StateCancelled}

// inHistory reports whether ComfyUI would have a history entry for j: it
// ran to an end (success, error, interrupt). A job cancelled before it
// started is a prompt deleted from the queue, which has none; a job that
// failed before it ran still gets one, so a client polling /history
// learns the outcome instead of waiting forever.
func inHistory(j *job.Job, m job.ComfyMeta) bool {
	if m.Hidden || m.Superseded || !j.State.Terminal() {
		return false
	}
	if j.State == job.StateCancelled {
		return !j.StartedAt.IsZero() || len(j.ComfyHistory) > 0
	}
	return true
}

// historyPage is the caller's history as ComfyUI's get_history pages it:
// the newest maxListed entries, oldest first; without offset the newest
// maxItems; with offset, entries from there (and, a quirk kept, at least
// one when max_items <= 0).
func (h *Handler) historyPage(ctx context.Context, owner string, maxItems *int, offset int) ([]*job.Job, error) {
	if offset < 0 && maxItems != nil {
		if *maxItems <= 0 {
			return nil, nil
		}
		return h.newestHistory(ctx, owner, min(*maxItems, maxListed))
	}
	all, err := h.newestHistory(ctx, owner, maxListed)
	if err != nil {
		return nil, err
	}
	all = all[min(max(offset, 0), len(all)):]
	if maxItems != nil {
		all = all[:min(max(*maxItems, 1), len(all))]
	}
	return all, nil
}

// newestHistory returns the newest n history entries of owner, lean,
// oldest first, looking through at most 4 × maxListed finished jobs.
func (h *Handler) newestHistory(ctx context.Context, owner string, n int) ([]*job.Job, error) {
	var out []*job.Job
	f := job.JobFilter{Owner: owner, States: terminalStates, Order: job.OrderDesc}
	err := h.walk(ctx, f, 4*maxListed, func(j *job.Job) bool {
		if inHistory(j, job.ComfyMetaOf(j)) {
			out = append(out, j)
		}
		return len(out) < n
	})
	if err != nil {
		return nil, fmt.Errorf("list history: %w", err)
	}
	slices.Reverse(out)
	return out, nil
}

// getHistory is GET /history?max_items=&offset= (non-integers are a 500,
// as in ComfyUI), answered from comfygate's store: it spans the fleet and
// survives restarts.
func (h *Handler) getHistory(c *call) error {
	q := parseQuery(c.r.URL.RawQuery)
	var maxItems *int
	if v, ok := q["max_items"]; ok {
		n, ok := pyInt(v[0])
		if !ok {
			return errPython
		}
		maxItems = &n
	}
	offset := -1
	if v, ok := q["offset"]; ok {
		n, ok := pyInt(v[0])
		if !ok {
			return errPython
		}
		offset = n
	}
	jobs, err := h.historyPage(c.r.Context(), c.owner, maxItems, offset)
	if err != nil {
		return failed("reading the history", err)
	}
	return h.writeHistory(c, jobs, true)
}

// getHistoryItem is GET /history/{prompt_id}: {} (200, never 404) for an
// unknown prompt, or one that is still queued or running.
func (h *Handler) getHistoryItem(c *call) error {
	j, m, err := h.findJob(c.r.Context(), c.owner, c.params["prompt_id"])
	switch {
	case errors.Is(err, errNoJob):
		writeJSONBytes(c.w, http.StatusOK, []byte("{}"))
		return nil
	case err != nil:
		return failed("reading the history", err)
	case !inHistory(j, m):
		writeJSONBytes(c.w, http.StatusOK, []byte("{}"))
		return nil
	}
	return h.writeHistory(c, []*job.Job{j}, false)
}

// writeHistory answers {"prompt_id": entry, ...} in the given order, each
// entry rendered in turn (from its whole job, loaded first for lean ones).
func (h *Handler) writeHistory(c *call, jobs []*job.Job, lean bool) error {
	ctx := c.r.Context()
	s := &jsonStream{w: c.w}
	s.writeString("{")
	for i, j := range jobs {
		if lean {
			var err error
			if j, err = h.whole(ctx, j); err != nil {
				return s.fail(failed("reading the history", err))
			}
		}
		m := job.ComfyMetaOf(j)
		entry, err := h.historyEntry(ctx, j, m)
		if err != nil {
			return s.fail(failed("rendering the history", err))
		}
		if i > 0 {
			s.writeString(", ")
		}
		k, _ := json.Marshal(m.PromptIDFor(j))
		s.write(k)
		s.writeString(": ")
		s.write(entry)
	}
	s.writeString("}")
	s.end()
	return nil
}

// postHistory is POST /history: {"clear": true} and/or {"delete": [ids]}
// take entries out of the caller's /history (the jobs stay in comfygate's
// store and in /v1/jobs). An empty 200, or the 500s of odd bodies; the
// clear is done before "delete" is read, as in Python.
func (h *Handler) postHistory(c *call) error {
	v, err := h.readJSON(c)
	if err != nil {
		return err
	}
	ctx := c.r.Context()
	clear, err := comfywire.ClearRequested(v)
	if err != nil {
		return errPython
	}
	if clear {
		all, err := h.newestHistory(ctx, c.owner, maxListed)
		if err != nil {
			return failed("reading the history", err)
		}
		for _, j := range all {
			h.hide(ctx, j.ID)
		}
	}
	ids, err := deleteIDs(v, true)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if j, _, err := h.findJob(ctx, c.owner, id); err == nil {
			h.hide(ctx, j.ID)
		}
	}
	writeEmpty(c.w, http.StatusOK)
	return nil
}

func (h *Handler) hide(ctx context.Context, id string) {
	_, err := h.store.UpdateJob(ctx, id, func(j *job.Job) error {
		m := job.ComfyMetaOf(j)
		m.Hidden = true
		j.Comfy = m.Raw()
		return nil
	})
	if err != nil {
		h.log.Warn("comfyapi: hiding a history entry failed", "job", id, "err", err)
	}
}
