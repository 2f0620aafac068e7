package comfywire

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseJobQuery(t *testing.T) {
	t.Parallel()
	n := func(i int) *int { return &i }
	all := JobStatuses
	// The problems are newer ComfyUI's own 400 texts (server.py, get_jobs).
	tests := []struct {
		name    string
		raw     string
		want    JobQuery
		problem string
	}{
		{"defaults", "", JobQuery{Statuses: all, Desc: true}, ""},
		{"statuses trimmed and lower-cased", "status=%20Completed,,FAILED", JobQuery{Statuses: []string{"completed", "failed"}, Desc: true}, ""},
		{"empty status means all", "status=", JobQuery{Statuses: all, Desc: true}, ""},
		{"only commas means none", "status=,", JobQuery{Desc: true}, ""},
		{"every bad status named", "status=bogus,completed,Nope", JobQuery{},
			"Invalid status value(s): bogus, nope. Valid values: pending, in_progress, completed, failed, cancelled"},
		{"workflow and paging", "workflow_id=w&limit=%202_0&offset=-3", JobQuery{Statuses: all, WorkflowID: "w", Desc: true, Limit: n(20)}, ""},
		{"sort by duration ascending", "sort_by=Execution_Duration&sort_order=ASC", JobQuery{Statuses: all, ByDuration: true}, ""},
		{"first value wins", "limit=2&limit=x", JobQuery{Statuses: all, Desc: true, Limit: n(2)}, ""},
		{"semicolon kept in value", "workflow_id=a;b", JobQuery{Statuses: all, WorkflowID: "a;b", Desc: true}, ""},
		{"bad sort_by", "sort_by=name", JobQuery{}, "sort_by must be 'created_at' or 'execution_duration'"},
		{"bad sort_order", "sort_order=up", JobQuery{}, "sort_order must be 'asc' or 'desc'"},
		{"limit not an integer", "limit=x", JobQuery{}, "limit must be an integer"},
		{"limit a float", "limit=1.5", JobQuery{}, "limit must be an integer"},
		{"limit zero", "limit=0", JobQuery{}, "limit must be a positive integer"},
		{"offset not an integer", "offset=x", JobQuery{}, "offset must be an integer"},
		{"status checked before sort_by", "status=x&sort_by=y", JobQuery{},
			"Invalid status value(s): x. Valid values: pending, in_progress, completed, failed, cancelled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, problem := ParseJobQuery(tt.raw)
			if problem != tt.problem {
				t.Fatalf("problem = %q, want %q", problem, tt.problem)
			}
			if problem != "" {
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
