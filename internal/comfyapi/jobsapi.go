package comfyapi

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/internal/job"
)

// The /api/jobs routes of newer ComfyUI versions, over comfygate's jobs.

var jobStatuses = []string{comfy.JobPending, comfy.JobInProgress, comfy.JobCompleted, comfy.JobFailed, comfy.JobCancelled}

var statusStates = map[string][]job.State{
	comfy.JobPending:    pendingStates,
	comfy.JobInProgress: runningStates,
	comfy.JobCompleted:  {job.StateSucceeded},
	comfy.JobFailed:     {job.StateFailed},
	comfy.JobCancelled:  {job.StateCancelled},
}

func statusOf(j *job.Job) string {
	for s, states := range statusStates {
		if slices.Contains(states, j.State) {
			return s
		}
	}
	return comfy.JobPending
}

type jobQuery struct {
	states     []job.State
	workflowID string
	byDuration bool
	desc       bool
	limit      *int
	offset     int
}

// parseJobQuery reads the query; problem is the message of a 400 answer
// (newer ComfyUI's own texts), "" when the query is fine.
func parseJobQuery(raw string) (jq jobQuery, problem string) {
	q := parseQuery(raw)
	jq = jobQuery{workflowID: q.Get("workflow_id")}
	statuses := jobStatuses
	if v := q.Get("status"); v != "" {
		statuses = nil
		for _, s := range strings.Split(v, ",") {
			s = strings.ToLower(strings.TrimSpace(s))
			if s == "" {
				continue
			}
			if !slices.Contains(jobStatuses, s) {
				return jq, fmt.Sprintf("Invalid status value(s): %s. Valid values: %s", s, strings.Join(jobStatuses, ", "))
			}
			statuses = append(statuses, s)
		}
	}
	for _, s := range statuses {
		jq.states = append(jq.states, statusStates[s]...)
	}
	switch strings.ToLower(cmp.Or(q.Get("sort_by"), "created_at")) {
	case "created_at":
	case "execution_duration":
		jq.byDuration = true
	default:
		return jq, "sort_by must be 'created_at' or 'execution_duration'"
	}
	switch strings.ToLower(cmp.Or(q.Get("sort_order"), "desc")) {
	case "desc":
		jq.desc = true
	case "asc":
	default:
		return jq, "sort_order must be 'asc' or 'desc'"
	}
	if v, ok := q["limit"]; ok {
		n, ok := pyInt(v[0])
		if !ok || n <= 0 {
			return jq, "limit must be a positive integer"
		}
		jq.limit = &n
	}
	if v, ok := q["offset"]; ok {
		n, ok := pyInt(v[0])
		if !ok {
			return jq, "offset must be an integer"
		}
		jq.offset = max(n, 0)
	}
	return jq, ""
}

// listJobsAPI is GET /api/jobs: the caller's jobs (the newest 10,000),
// filtered and sorted on the job records, rendered only for the page.
func (h *Handler) listJobsAPI(c *call) error {
	jq, problem := parseJobQuery(c.r.URL.RawQuery)
	if problem != "" {
		return jobsErrorf(http.StatusBadRequest, "%s", problem)
	}
	ctx := c.r.Context()
	all, err := h.listJobs(ctx, c.owner, jq.states, maxListed, job.OrderDesc)
	if err != nil {
		return failed("listing jobs", err)
	}
	all = slices.DeleteFunc(all, func(j *job.Job) bool {
		m := job.ComfyMetaOf(j)
		if m.Superseded || m.Hidden || j.State.Terminal() && !inHistory(j, m) {
			return true
		}
		id := workflowID(j.ExtraData)
		return jq.workflowID != "" && (id == nil || *id != jq.workflowID)
	})
	sortJobs(all, jq.byDuration, jq.desc)
	total := len(all)
	page := all[min(jq.offset, len(all)):]
	if jq.limit != nil && *jq.limit < len(page) {
		page = page[:*jq.limit]
	}
	views := make([]comfy.Job, 0, len(page))
	for _, j := range page {
		v, err := h.jobView(ctx, j, job.ComfyMetaOf(j), false)
		if err != nil {
			return failed("rendering jobs", err)
		}
		views = append(views, v)
	}
	writeJSON(c.w, http.StatusOK, comfy.JobList{Jobs: views, Pagination: comfy.Pagination{
		Offset: jq.offset, Limit: jq.limit, Total: total, HasMore: jq.offset+len(views) < total}})
	return nil
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
	data, err := h.readBody(c.r)
	if err != nil {
		return err
	}
	v, err := decodeJSON(data)
	if err != nil {
		return jobsErrorf(http.StatusBadRequest, "Request body must be valid JSON")
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
	v := comfy.Job{ID: m.PromptIDFor(j), Status: statusOf(j), Priority: numberOf(j, m), CreateTime: &created,
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
