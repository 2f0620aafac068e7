package comfysim_test

import (
	"encoding/json"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/comfy/comfysim"
)

func jobList(t *testing.T, s *comfysim.Server, query string) comfy.JobList {
	t.Helper()
	r := get(t, s, "/api/jobs"+query)
	if r.status != http.StatusOK {
		t.Fatalf("GET /api/jobs%s: %d %s", query, r.status, r.body)
	}
	var l comfy.JobList
	if err := json.Unmarshal(r.body, &l); err != nil {
		t.Fatal(err)
	}
	return l
}

func TestJobsAPI(t *testing.T) {
	// A clock that ticks one millisecond per reading keeps creation times
	// distinct however fast the machine is.
	var tick atomic.Int64
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { return base.Add(time.Duration(tick.Add(1)) * time.Millisecond) }
	s := start(t, comfysim.Options{Now: now, ClassDelays: map[string]time.Duration{"ImageBlur": time.Hour}})
	ws := dial(t, s, "jobs")
	ws.mustNext()

	done := submit(t, s, workflow(t, "text"), "jobs", "prompt_id", "00000000-0000-4000-8000-000000000001")
	ws.untilDone(done)
	running := submit(t, s, workflow(t, "slow-chain"), "jobs", "prompt_id", "00000000-0000-4000-8000-000000000002")
	ws.until(func(f frame) bool { return f.typ() == "executing" })
	pending := submit(t, s, workflow(t, "basic"), "jobs", "prompt_id", "00000000-0000-4000-8000-000000000003")

	l := jobList(t, s, "?sort_order=asc")
	var got [][2]string
	for _, j := range l.Jobs {
		got = append(got, [2]string{j.ID, j.Status})
	}
	diff(t, "jobs by creation", [][2]string{
		{done, comfy.JobCompleted}, {running, comfy.JobInProgress}, {pending, comfy.JobPending},
	}, got)
	diff(t, "pagination", comfy.Pagination{Total: 3}, l.Pagination)

	l = jobList(t, s, "?status=completed&limit=1")
	diff(t, "filtered", 1, len(l.Jobs))
	diff(t, "preview of a text output", `{"content": "HELLO, WORLD", "nodeId": "4", "mediaType": "text"}`, string(l.Jobs[0].PreviewOutput))

	for _, q := range []string{"?status=bogus", "?sort_by=name", "?limit=0", "?limit=x", "?sort_order=up"} {
		if r := get(t, s, "/api/jobs"+q); r.status != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", q, r.status)
		}
	}

	r := get(t, s, "/api/jobs/"+done)
	var job comfy.Job
	if err := json.Unmarshal(r.body, &job); err != nil {
		t.Fatal(err)
	}
	if job.Status != comfy.JobCompleted || len(job.Outputs) == 0 || len(job.Workflow) == 0 {
		t.Errorf("job detail: %+v", job)
	}
	diff(t, "unknown job", `{"error": "Job not found"}`, string(get(t, s, "/api/jobs/nope").body))

	// Cancel a pending job (dequeued), then the running one (interrupted).
	diff(t, "cancel pending", `{"cancelled": true}`, string(postJSON(t, s, "/api/jobs/"+pending+"/cancel", "").body))
	diff(t, "cancel finished", `{"cancelled": false}`, string(postJSON(t, s, "/api/jobs/"+done+"/cancel", "").body))
	bad := postJSON(t, s, "/api/jobs/cancel", map[string]any{"job_ids": []any{"not-a-uuid", 5}})
	diff(t, "bad ids", `{"error": "job_ids contains invalid id(s)", "invalid_ids": ["not-a-uuid", "5"]}`, string(bad.body))
	diff(t, "batch cancel", `{"cancelled": true}`, string(postJSON(t, s, "/api/jobs/cancel", map[string]any{"job_ids": []string{running}}).body))
	ws.untilDone(running)
	waitFor(t, "cancelled status", func() bool {
		return jobList(t, s, "?status=cancelled").Pagination.Total == 1
	})
	diff(t, "deleted pending job", `{"error": "Job not found"}`, string(get(t, s, "/api/jobs/"+pending).body))
}
