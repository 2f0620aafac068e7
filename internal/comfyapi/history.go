package comfyapi

import (
	"bytes"
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
	var out []*job.Job
	for i, j := range all {
		if i < offset {
			continue
		}
		out = append(out, j)
		if maxItems != nil && len(out) >= *maxItems {
			break
		}
	}
	return out, nil
}

// newestHistory returns the newest n history entries of owner, oldest first.
func (h *Handler) newestHistory(ctx context.Context, owner string, n int) ([]*job.Job, error) {
	var out []*job.Job
	f := job.JobFilter{Owner: owner, States: terminalStates, Order: job.OrderDesc, Limit: min(max(n, 10), job.MaxListLimit)}
	for scanned := 0; len(out) < n && scanned < 4*maxListed; {
		page, next, err := h.store.ListJobs(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("list history: %w", err)
		}
		scanned += len(page)
		for _, j := range page {
			if len(out) < n && inHistory(j, job.ComfyMetaOf(j)) {
				out = append(out, j)
			}
		}
		if next == "" {
			break
		}
		f.Cursor = next
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
	return h.writeHistory(c, jobs)
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
	return h.writeHistory(c, []*job.Job{j})
}

// writeHistory answers {"prompt_id": entry, ...} in the given order.
func (h *Handler) writeHistory(c *call, jobs []*job.Job) error {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, j := range jobs {
		m := job.ComfyMetaOf(j)
		entry, err := h.historyEntry(c.r.Context(), j, m)
		if err != nil {
			return failed("rendering the history", err)
		}
		if i > 0 {
			b.WriteString(", ")
		}
		k, _ := json.Marshal(m.PromptIDFor(j))
		b.Write(k)
		b.WriteString(": ")
		b.Write(entry)
	}
	b.WriteByte('}')
	writeJSONBytes(c.w, http.StatusOK, b.Bytes())
	return nil
}

// postHistory is POST /history: {"clear": true} and/or {"delete": [ids]}
// take entries out of the caller's /history (the jobs stay in comfygate's
// store and in /v1/jobs). An empty 200, or the 500s of odd bodies.
func (h *Handler) postHistory(c *call) error {
	v, err := h.readJSON(c)
	if err != nil {
		return err
	}
	ctx := c.r.Context()
	var targets []*job.Job
	clear, err := comfywire.ClearRequested(v)
	if err != nil {
		return errPython
	}
	if clear {
		if targets, err = h.newestHistory(ctx, c.owner, maxListed); err != nil {
			return failed("reading the history", err)
		}
	}
	ids, err := comfywire.DeleteIDs(v)
	if err != nil {
		return errPython
	}
	for _, id := range ids {
		switch s := id.(type) {
		case []any, map[string]any:
			return errPython // unhashable
		case string:
			if j, _, err := h.findJob(ctx, c.owner, s); err == nil {
				targets = append(targets, j)
			}
		}
	}
	for _, j := range targets {
		h.hide(ctx, j.ID)
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
