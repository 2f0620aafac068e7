package comfyapi

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/internal/comfywire"
	"github.com/comfygate/comfygate/internal/job"
)

// The /api/jobs routes of newer ComfyUI versions, over comfygate's jobs.

// statusStates are the job states each /api/jobs status may be in. A
// dispatched job is in_progress once it executes and pending while it
// waits in its backend's queue (Handler.jobStatus tells which).
var statusStates = map[string][]job.State{
	comfy.JobPending:    activeStates(),
	comfy.JobInProgress: boundStates,
	comfy.JobCompleted:  {job.StateSucceeded},
	comfy.JobFailed:     {job.StateFailed},
	comfy.JobCancelled:  {job.StateCancelled},
}

// jobStatus is j's /api/jobs status: in_progress only while it executes,
// as ComfyUI reports only its running prompt so.
func (h *Handler) jobStatus(j *job.Job) string {
	switch {
	case h.running(j):
		return comfy.JobInProgress
	case j.State == job.StateSucceeded:
		return comfy.JobCompleted
	case j.State == job.StateFailed:
		return comfy.JobFailed
	case j.State == job.StateCancelled:
		return comfy.JobCancelled
	}
	return comfy.JobPending
}

// statesOf maps /api/jobs statuses onto comfygate's job states.
func statesOf(statuses []string) []job.State {
	var states []job.State
	for _, s := range statuses {
		for _, st := range statusStates[s] {
			if !slices.Contains(states, st) {
				states = append(states, st)
			}
		}
	}
	return states
}

// listJobsAPI is GET /api/jobs: the caller's jobs (the newest 10,000),
// filtered and sorted on their lean records, each job of the page loaded
// whole and rendered in turn.
func (h *Handler) listJobsAPI(c *call) error {
	jq, problem := comfywire.ParseJobQuery(c.r.URL.RawQuery)
	if problem != "" {
		return jobsErrorf(http.StatusBadRequest, "%s", problem)
	}
	ctx := c.r.Context()
	all, err := h.listJobs(ctx, c.owner, statesOf(jq.Statuses), maxListed, job.OrderDesc)
	if err != nil {
		return failed("listing jobs", err)
	}
	all = slices.DeleteFunc(all, func(j *job.Job) bool {
		m := job.ComfyMetaOf(j)
		return m.Superseded || m.Hidden || j.State.Terminal() && !inHistory(j, m) || !slices.Contains(jq.Statuses, h.jobStatus(j))
	})
	if jq.WorkflowID != "" {
		if all, err = h.withWorkflowID(ctx, all, jq.WorkflowID); err != nil {
			return failed("listing jobs", err)
		}
	}
	sortJobs(all, jq.ByDuration, jq.Desc)
	total := len(all)
	page := all[min(jq.Offset, len(all)):]
	if jq.Limit != nil && *jq.Limit < len(page) {
		page = page[:*jq.Limit]
	}
	s := &jsonStream{w: c.w}
	s.writeString(`{"jobs":[`)
	for i, l := range page {
		j, err := h.whole(ctx, l)
		if err != nil {
			return s.fail(failed("listing jobs", err))
		}
		v, err := h.jobView(ctx, j, job.ComfyMetaOf(j), false)
		if err != nil {
			return s.fail(failed("rendering jobs", err))
		}
		b, err := marshalJSON(v)
		if err != nil {
			return s.fail(err)
		}
		if i > 0 {
			s.writeString(",")
		}
		s.write(b)
	}
	p, err := marshalJSON(comfy.Pagination{Offset: jq.Offset, Limit: jq.Limit, Total: total, HasMore: jq.Offset+len(page) < total})
	if err != nil {
		return s.fail(err)
	}
	s.writeString(`],"pagination":`)
	s.write(p)
	s.writeString("}")
	s.end()
	return nil
}

// withWorkflowID keeps the lean jobs whose extra_pnginfo names workflow
// id, loading each whole in turn: extra_data holds the UI workflow.
func (h *Handler) withWorkflowID(ctx context.Context, lean []*job.Job, id string) ([]*job.Job, error) {
	out := lean[:0]
	for _, l := range lean {
		j, err := h.whole(ctx, l)
		if err != nil {
			return nil, err
		}
		if w := workflowID(j.ExtraData); w != nil && *w == id {
			out = append(out, l)
		}
	}
	return out, nil
}

func sortJobs(jobs []*job.Job, byDuration, desc bool) {
	key := func(j *job.Job) int64 {
		if byDuration {
			if !j.StartedAt.IsZero() && !j.FinishedAt.IsZero() {
				return j.FinishedAt.Sub(j.StartedAt).Milliseconds()
			}
			return 0
		}
		return j.CreatedAt.UnixMilli()
	}
	slices.SortStableFunc(jobs, func(a, b *job.Job) int {
		if desc {
			return cmp.Compare(key(b), key(a))
		}
		return cmp.Compare(key(a), key(b))
	})
}

// getJobAPI is GET /api/jobs/{job_id}: one job with its outputs, status
// and workflow, or 404 {"error": "Job not found"}.
func (h *Handler) getJobAPI(c *call) error {
	j, m, err := h.findJob(c.r.Context(), c.owner, c.params["job_id"])
	if errors.Is(err, errNoJob) || err == nil && (j.State.Terminal() && !inHistory(j, m)) {
		return jobsErrorf(http.StatusNotFound, "Job not found")
	}
	if err != nil {
		return failed("reading the job", err)
	}
	v, err := h.jobView(c.r.Context(), j, m, true)
	if err != nil {
		return failed("rendering the job", err)
	}
	writeJSON(c.w, http.StatusOK, v)
	return nil
}

// cancelJobAPI is POST /api/jobs/{job_id}/cancel: dequeued if pending,
// interrupted if running, nothing otherwise.
func (h *Handler) cancelJobAPI(c *call) error {
	writeJSON(c.w, http.StatusOK, comfy.CancelResult{Cancelled: h.cancelOne(c.r.Context(), c.owner, c.params["job_id"])})
	return nil
}

// cancelJobsAPI is POST /api/jobs/cancel {"job_ids": [...]}.
func (h *Handler) cancelJobsAPI(c *call) error {
	v, err := h.decodeBody(c)
	if errors.Is(err, comfywire.ErrNotJSON) {
		return jobsErrorf(http.StatusBadRequest, "Request body must be valid JSON")
	}
	if err != nil {
		return err
	}
	idsV, _ := pyDictGet(v, "job_ids")
	ids, ok := idsV.([]any)
	if !ok {
		return jobsErrorf(http.StatusBadRequest, "job_ids must be a list")
	}
	var invalid []string
	for _, id := range ids {
		if s, ok := id.(string); !ok || s == "" {
			invalid = append(invalid, fmt.Sprint(id))
		}
	}
	if len(invalid) > 0 {
		return &jobsError{status: http.StatusBadRequest, body: map[string]any{"error": "job_ids contains invalid id(s)", "invalid_ids": invalid}}
	}
	cancelled := false
	for _, id := range ids {
		cancelled = h.cancelOne(c.r.Context(), c.owner, id.(string)) || cancelled
	}
	writeJSON(c.w, http.StatusOK, comfy.CancelResult{Cancelled: cancelled})
	return nil
}

func (h *Handler) cancelOne(ctx context.Context, owner, id string) bool {
	j, _, err := h.findJob(ctx, owner, id)
	if err != nil || j.State.Terminal() {
		return false
	}
	if j.State.Dispatchable() {
		return h.cancelPending(ctx, owner, []*job.Job{j})
	}
	if _, err := h.gw.CancelJob(ctx, owner, j.ID); err != nil {
		h.log.Warn("comfyapi: cancel failed", "job", j.ID, "err", err)
		return false
	}
	return true
}

// jobView renders j as a newer ComfyUI's job object.
func (h *Handler) jobView(ctx context.Context, j *job.Job, m job.ComfyMeta, full bool) (comfy.Job, error) {
	created := j.CreatedAt.UnixMilli()
	v := comfy.Job{ID: m.PromptIDFor(j), Status: h.jobStatus(j), Priority: numberOf(j, m), CreateTime: &created,
		WorkflowID: workflowID(j.ExtraData)}
	if !j.StartedAt.IsZero() {
		t := j.StartedAt.UnixMilli()
		v.ExecutionStartTime = &t
	}
	if j.State.Terminal() {
		t := j.FinishedAt.UnixMilli()
		v.ExecutionEndTime = &t
		raw, err := h.historyEntry(ctx, j, m)
		if err != nil {
			return v, err
		}
		var e storedEntry
		_ = json.Unmarshal(raw, &e)
		v.OutputsCount, v.PreviewableOutputsCount, v.PreviewOutput = outputsSummary(e.Outputs)
		for _, msg := range e.Status.Messages {
			if msg.Event == comfy.EventExecutionError {
				v.ExecutionError = msg.Data
			}
		}
		if full {
			v.Outputs, _ = json.Marshal(e.Outputs)
			v.ExecutionStatus, _ = json.Marshal(e.Status)
		}
	}
	if full {
		v.Workflow, _ = json.Marshal(map[string]json.RawMessage{"prompt": clientGraph(j.Graph, m.Inputs), "extra_data": publicExtra(j.ExtraData)})
	}
	return v, nil
}

func workflowID(extra json.RawMessage) *string {
	var x struct {
		PNG struct {
			Workflow struct {
				ID *string `json:"id"`
			} `json:"workflow"`
		} `json:"extra_pnginfo"`
	}
	if json.Unmarshal(extra, &x) != nil {
		return nil
	}
	return x.PNG.Workflow.ID
}

// outputsSummary counts file outputs and picks a preview: an output image
// first, any other file next.
func outputsSummary(outputs map[string]json.RawMessage) (count, previewable int, preview json.RawMessage) {
	var best, fallback json.RawMessage
	nodes := make([]string, 0, len(outputs))
	for n := range outputs {
		nodes = append(nodes, n)
	}
	slices.Sort(nodes)
	for _, node := range nodes {
		files, _ := comfy.NodeOutputFiles(outputs[node])
		for _, f := range files {
			count++
			previewable++
			item := map[string]string{"filename": f.Filename, "subfolder": f.Subfolder, "type": f.Type, "nodeId": node, "mediaType": f.Kind}
			b, _ := json.Marshal(item)
			if best == nil && f.Type == comfy.FileTypeOutput {
				best = b
			} else if fallback == nil {
				fallback = b
			}
		}
	}
	if best != nil {
		return count, previewable, best
	}
	return count, previewable, fallback
}
