package comfywire

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/comfygate/comfygate/comfy"
)

// JobStatuses are the statuses of newer ComfyUI's /api/jobs, in the order
// its error message lists them.
var JobStatuses = []string{comfy.JobPending, comfy.JobInProgress, comfy.JobCompleted, comfy.JobFailed, comfy.JobCancelled}

// JobQuery is the query of GET /api/jobs.
type JobQuery struct {
	Statuses   []string // wanted statuses; all of JobStatuses when the query names none
	WorkflowID string   // "" for any
	ByDuration bool     // sort_by=execution_duration rather than created_at
	Desc       bool     // sort_order=desc (the default)
	Limit      *int     // nil for no limit
	Offset     int      // never negative
}

// ParseJobQuery reads a raw /api/jobs query as newer ComfyUI's get_jobs
// does. problem is the message of its 400 answer ({"error": problem}), ""
// when the query is fine; checks run in ComfyUI's order, so the first
// problem wins, and every bad status is named at once.
func ParseJobQuery(raw string) (jq JobQuery, problem string) {
	q := ParseQuery(raw)
	jq = JobQuery{Statuses: JobStatuses, WorkflowID: q.Get("workflow_id")}
	if v := q.Get("status"); v != "" {
		if jq.Statuses, problem = parseStatuses(v); problem != "" {
			return jq, problem
		}
	}
	switch strings.ToLower(cmp.Or(q.Get("sort_by"), "created_at")) {
	case "created_at":
	case "execution_duration":
		jq.ByDuration = true
	default:
		return jq, "sort_by must be 'created_at' or 'execution_duration'"
	}
	switch strings.ToLower(cmp.Or(q.Get("sort_order"), "desc")) {
	case "desc":
		jq.Desc = true
	case "asc":
	default:
		return jq, "sort_order must be 'asc' or 'desc'"
	}
	if v, ok := q["limit"]; ok {
		n, ok := PyInt(v[0])
		switch {
		case !ok:
			return jq, "limit must be an integer"
		case n <= 0:
			return jq, "limit must be a positive integer"
		}
		jq.Limit = &n
	}
	if v, ok := q["offset"]; ok {
		n, ok := PyInt(v[0])
		if !ok {
			return jq, "offset must be an integer"
		}
		jq.Offset = max(n, 0)
	}
	return jq, ""
}

// parseStatuses reads "status=a,b": trimmed, lower-cased, empty items
// skipped, every unknown one reported.
func parseStatuses(v string) (statuses []string, problem string) {
	var bad []string
	for _, s := range strings.Split(v, ",") {
		s = strings.ToLower(strings.TrimSpace(s))
		switch {
		case s == "":
		case slices.Contains(JobStatuses, s):
			statuses = append(statuses, s)
		default:
			bad = append(bad, s)
		}
	}
	if len(bad) > 0 {
		return nil, fmt.Sprintf("Invalid status value(s): %s. Valid values: %s", strings.Join(bad, ", "), strings.Join(JobStatuses, ", "))
	}
	return statuses, ""
}
