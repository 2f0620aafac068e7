package comfysim

import (
	"cmp"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/comfy/comfyjson"
	"github.com/comfygate/comfygate/internal/comfywire"
)

// The /api/jobs routes come from newer ComfyUI servers (comfy_execution/
// jobs.py); the simulator offers them on top of the 0.3.64 surface.

func jobError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func (s *Server) handleJobs(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	jq, msg := comfywire.ParseJobQuery(r.URL.RawQuery)
	if msg != "" {
		jobError(w, http.StatusBadRequest, msg)
		return
	}
	jobs := s.allJobs(jq.Statuses)
	if jq.WorkflowID != "" {
		jobs = slices.DeleteFunc(jobs, func(j comfy.Job) bool { return j.WorkflowID == nil || *j.WorkflowID != jq.WorkflowID })
	}
	sortJobs(jobs, jq.ByDuration, jq.Desc)
	total := len(jobs)
	jobs = jobs[min(jq.Offset, len(jobs)):]
	if jq.Limit != nil && *jq.Limit < len(jobs) {
		jobs = jobs[:*jq.Limit]
	}
	writeJSON(w, http.StatusOK, comfy.JobList{Jobs: jobs, Pagination: comfy.Pagination{
		Offset: jq.Offset, Limit: jq.Limit, Total: total, HasMore: jq.Offset+len(jobs) < total,
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

func sortJobs(jobs []comfy.Job, byDuration, desc bool) {
	key := func(j comfy.Job) int64 {
		if byDuration {
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
	v, answered, err := s.decodeBody(w, r)
	if answered {
		return
	}
	if err != nil {
		jobError(w, http.StatusBadRequest, "Request body must be valid JSON")
		return
	}
	idsV, _, _ := comfyjson.DictGet(v, "job_ids")
	ids, ok := idsV.([]any)
	if !ok {
		jobError(w, http.StatusBadRequest, "job_ids must be a list")
		return
	}
	var invalid []string
	for _, id := range ids {
		str, isStr := id.(string)
		if !isStr {
			invalid = append(invalid, comfyjson.Repr(id))
		} else if !canonicalUUID.MatchString(str) {
			invalid = append(invalid, str)
		}
	}
	if len(invalid) > 0 {
		writeJSON(w, http.StatusBadRequest, comfyjson.Object{{Key: "error", Value: "job_ids contains invalid id(s)"}, {Key: "invalid_ids", Value: invalid}})
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
		j.Workflow = comfyjson.MustDumps(comfyjson.Object{{Key: "prompt", Value: it.prompt}, {Key: "extra_data", Value: it.extra}})
	}
	return j
}

func workflowID(extra any) *string {
	info, _, _ := comfyjson.DictGet(extra, "extra_pnginfo")
	wf, _, _ := comfyjson.DictGet(info, "workflow")
	id, _, _ := comfyjson.DictGet(wf, "id")
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
		j.Outputs = comfyjson.MustDumps(e.outputs)
		j.ExecutionStatus = comfyjson.MustDumps(e.status)
		j.Workflow = comfyjson.MustDumps(comfyjson.Object{{Key: "prompt", Value: json.RawMessage(e.prompt)}, {Key: "extra_data", Value: e.extra}})
	}
	return j
}
