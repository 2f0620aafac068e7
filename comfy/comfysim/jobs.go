package comfysim

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/comfy/comfysim/internal/pyjson"
	"github.com/comfygate/comfygate/internal/comfywire"
)

// The /api/jobs routes come from newer ComfyUI servers (comfy_execution/
// jobs.py); the simulator offers them on top of the 0.3.64 surface.

var jobStatuses = []string{comfy.JobPending, comfy.JobInProgress, comfy.JobCompleted, comfy.JobFailed, comfy.JobCancelled}

func jobError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

type jobQuery struct {
	statuses   []string
	workflowID string
	sortBy     string
	desc       bool
	limit      *int
	offset     int
}

func parseJobQuery(r *http.Request) (jobQuery, string) {
	q := comfywire.ParseQuery(r.URL.RawQuery)
	jq := jobQuery{statuses: jobStatuses, workflowID: q.Get("workflow_id"), offset: 0}
	if v := q.Get("status"); v != "" {
		jq.statuses = nil
		var bad []string
		for _, s := range strings.Split(v, ",") {
			s = strings.ToLower(strings.TrimSpace(s))
			if s == "" {
				continue
			}
			if !slices.Contains(jobStatuses, s) {
				bad = append(bad, s)
			}
			jq.statuses = append(jq.statuses, s)
		}
		if len(bad) > 0 {
			return jq, fmt.Sprintf("Invalid status value(s): %s. Valid values: %s", strings.Join(bad, ", "), strings.Join(jobStatuses, ", "))
		}
	}
	jq.sortBy = strings.ToLower(cmp.Or(q.Get("sort_by"), "created_at"))
	if jq.sortBy != "created_at" && jq.sortBy != "execution_duration" {
		return jq, "sort_by must be 'created_at' or 'execution_duration'"
	}
	order := strings.ToLower(cmp.Or(q.Get("sort_order"), "desc"))
	if order != "asc" && order != "desc" {
		return jq, "sort_order must be 'asc' or 'desc'"
	}
	jq.desc = order == "desc"
	if v, ok := q["limit"]; ok {
		n, ok := comfywire.PyInt(v[0])
		if !ok {
			return jq, "limit must be an integer"
		}
		if n <= 0 {
			return jq, "limit must be a positive integer"
		}
		jq.limit = &n
	}
	if v, ok := q["offset"]; ok {
		n, ok := comfywire.PyInt(v[0])
		if !ok {
			return jq, "offset must be an integer"
		}
		jq.offset = max(n, 0)
	}
	return jq, ""
}

func (s *Server) handleJobs(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	jq, msg := parseJobQuery(r)
	if msg != "" {
		jobError(w, http.StatusBadRequest, msg)
		return
	}
	jobs := s.allJobs(jq.statuses)
	if jq.workflowID != "" {
		jobs = slices.DeleteFunc(jobs, func(j comfy.Job) bool { return j.WorkflowID == nil || *j.WorkflowID != jq.workflowID })
	}
	sortJobs(jobs, jq.sortBy, jq.desc)
	total := len(jobs)
	jobs = jobs[min(jq.offset, len(jobs)):]
	if jq.limit != nil && *jq.limit < len(jobs) {
		jobs = jobs[:*jq.limit]
	}
	writeJSON(w, http.StatusOK, comfy.JobList{Jobs: jobs, Pagination: comfy.Pagination{
		Offset: jq.offset, Limit: jq.limit, Total: total, HasMore: jq.offset+len(jobs) < total,
	}})
}

func (s *Server) allJobs(statuses []string) []comfy.Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	jobs := []comfy.Job{}
	if slices.Contains(statuses, comfy.JobInProgress) && s.running != nil {
		jobs = append(jobs, queueJob(s.running, comfy.JobInProgress, false))
	}
	if slices.Contains(statuses, comfy.JobPending) {
		for _, it := range s.pending.Items() {
			jobs = append(jobs, queueJob(it.Value, comfy.JobPending, false))
		}
	}
	for _, e := range s.history.All() {
		j := historyJob(e.Value, false)
		if slices.Contains(statuses, j.Status) {
			jobs = append(jobs, j)
		}
	}
	return jobs
}

func sortJobs(jobs []comfy.Job, by string, desc bool) {
	key := func(j comfy.Job) int64 {
		if by == "execution_duration" {
			if j.ExecutionStartTime != nil && j.ExecutionEndTime != nil && *j.ExecutionStartTime != 0 && *j.ExecutionEndTime != 0 {
				return *j.ExecutionEndTime - *j.ExecutionStartTime
			}
			return 0
		}
		if j.CreateTime != nil {
			return *j.CreateTime
		}
		return 0
	}
	slices.SortStableFunc(jobs, func(a, b comfy.Job) int {
		if desc {
			return cmp.Compare(key(b), key(a))
		}
		return cmp.Compare(key(a), key(b))
	})
}

func (s *Server) handleJob(w http.ResponseWriter, _ *http.Request, p map[string]string) {
	id := p["job_id"]
	s.mu.Lock()
	var job *comfy.Job
	if e, ok := s.history.Get(id); ok {
		j := historyJob(e, true)
		job = &j
	} else if s.running != nil && s.running.promptID == id {
		j := queueJob(s.running, comfy.JobInProgress, true)
		job = &j
	} else {
		for _, it := range s.pending.Items() {
			if it.PromptID == id {
				j := queueJob(it.Value, comfy.JobPending, true)
				job = &j
				break
			}
		}
	}
	s.mu.Unlock()
	if job == nil {
		jobError(w, http.StatusNotFound, "Job not found")
		return
	}
	writeJSON(w, http.StatusOK, job)
}

func (s *Server) handleCancelJob(w http.ResponseWriter, _ *http.Request, p map[string]string) {
	writeJSON(w, http.StatusOK, comfy.CancelResult{Cancelled: s.cancelJob(p["job_id"])})
}

var canonicalUUID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func (s *Server) handleCancelJobs(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	data, err := s.readBody(r)
	if err != nil {
		s.bodyError(w, r, err)
		return
	}
	v, err := pyjson.Decode(data)
	if err != nil {
		jobError(w, http.StatusBadRequest, "Request body must be valid JSON")
		return
	}
	idsV, _, _ := comfywire.PyDictGet(v, "job_ids")
	ids, ok := idsV.([]any)
	if !ok {
		jobError(w, http.StatusBadRequest, "job_ids must be a list")
		return
	}
	var invalid []string
	for _, id := range ids {
		str, isStr := id.(string)
		if !isStr {
			invalid = append(invalid, pyjson.Repr(id))
		} else if !canonicalUUID.MatchString(str) {
			invalid = append(invalid, str)
		}
	}
	if len(invalid) > 0 {
		writeJSON(w, http.StatusBadRequest, pyjson.Obj{{Key: "error", Value: "job_ids contains invalid id(s)"}, {Key: "invalid_ids", Value: invalid}})
		return
	}
	cancelled := false
	for _, id := range ids {
		if s.cancelJob(id.(string)) {
			cancelled = true
		}
	}
	writeJSON(w, http.StatusOK, comfy.CancelResult{Cancelled: cancelled})
}

// cancelJob interrupts the job if it runs or dequeues it if it waits.
func (s *Server) cancelJob(id string) bool {
	if s.deletePending(id) {
		return true
	}
	return s.interruptIfRunning(id)
}

// queueJob is normalize_queue_item.
func queueJob(it *item, status string, withWorkflow bool) comfy.Job {
	created := it.created.UnixMilli()
	j := comfy.Job{ID: it.promptID, Status: status, Priority: it.number, CreateTime: &created, WorkflowID: workflowID(it.extra)}
	if withWorkflow {
		j.Workflow = pyjson.MustMarshal(pyjson.Obj{{Key: "prompt", Value: it.prompt}, {Key: "extra_data", Value: it.extra}})
	}
	return j
}

func workflowID(extra any) *string {
	info, _, _ := comfywire.PyDictGet(extra, "extra_pnginfo")
	wf, _, _ := comfywire.PyDictGet(info, "workflow")
	id, _, _ := comfywire.PyDictGet(wf, "id")
	if s, ok := id.(string); ok {
		return &s
	}
	return nil
}

// historyJob is normalize_history_item.
func historyJob(e *historyItem, withOutputs bool) comfy.Job {
	created := e.created.UnixMilli()
	j := comfy.Job{ID: e.promptID, Priority: json.Number(e.number), CreateTime: &created, WorkflowID: workflowID(e.extra)}
	interrupted := false
	for _, m := range e.status.Messages {
		var ts struct {
			Timestamp *int64 `json:"timestamp"`
		}
		_ = json.Unmarshal(m.Data, &ts)
		switch m.Event {
		case comfy.EventExecutionStart:
			j.ExecutionStartTime = ts.Timestamp
		case comfy.EventExecutionSuccess, comfy.EventExecutionInterrupted:
			j.ExecutionEndTime = ts.Timestamp
			interrupted = interrupted || m.Event == comfy.EventExecutionInterrupted
		case comfy.EventExecutionError:
			j.ExecutionEndTime, j.ExecutionError = ts.Timestamp, m.Data
		}
	}
	switch {
	case e.status.StatusStr == comfy.StatusSuccess:
		j.Status = comfy.JobCompleted
	case interrupted:
		j.Status = comfy.JobCancelled
	default:
		j.Status = comfy.JobFailed
	}
	j.OutputsCount, j.PreviewableOutputsCount, j.PreviewOutput = outputsSummary(e.outputs)
	if withOutputs {
		j.Outputs = pyjson.MustMarshal(e.outputs)
		j.ExecutionStatus = pyjson.MustMarshal(e.status)
		j.Workflow = pyjson.MustMarshal(pyjson.Obj{{Key: "prompt", Value: json.RawMessage(e.prompt)}, {Key: "extra_data", Value: e.extra}})
	}
	return j
}
