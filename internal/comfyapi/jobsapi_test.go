package comfyapi

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

func TestJobsAPI(t *testing.T) {
	e := newEnv(t, envOptions{})
	sock := dialWS(t, e.srv.URL, "?clientId=jobs", nil)
	p1 := submit(t, e.srv.URL, map[string]any{"prompt": imageGraph(8, 8, "jobs/a"), "client_id": "jobs"}, nil)
	sock.wait("end of p1", finished(p1))
	e.sim.SetClassDelay("ImageBlur", time.Hour) // released below
	p2 := submit(t, e.srv.URL, map[string]any{"prompt": slowGraph("jobs/slow"), "client_id": "jobs"}, nil)
	p3 := submit(t, e.srv.URL, map[string]any{"prompt": imageGraph(9, 9, "jobs/b"), "client_id": "jobs"}, nil)
	sock.wait("p2 in its slow node", executingNode(p2, "2"))

	list := do(t, http.MethodGet, e.srv.URL+"/api/jobs", nil, nil).json(t)
	got := map[string]string{}
	for _, j := range list["jobs"].([]any) {
		m := j.(map[string]any)
		got[m["id"].(string)] = m["status"].(string)
	}
	want := map[string]string{p1: "completed", p2: "in_progress", p3: "pending"}
	for id, st := range want {
		if got[id] != st {
			t.Errorf("job %s: status %q, want %q (all: %v)", id, got[id], st, got)
		}
	}
	done := do(t, http.MethodGet, e.srv.URL+"/api/jobs?status=completed", nil, nil).json(t)
	jobs := done["jobs"].([]any)
	if len(jobs) != 1 || jobs[0].(map[string]any)["outputs_count"] != jsonNumber("1") || jobs[0].(map[string]any)["preview_output"] == nil {
		t.Errorf("completed jobs: %v", jobs)
	}
	one := do(t, http.MethodGet, e.srv.URL+"/api/jobs/"+p1, nil, nil).json(t)
	for _, k := range []string{"outputs", "execution_status", "workflow"} {
		if one[k] == nil {
			t.Errorf("single job lacks %s: %v", k, one)
		}
	}
	if r := do(t, http.MethodGet, e.srv.URL+"/api/jobs/no-such-job", nil, nil); r.status != 404 || r.json(t)["error"] != "Job not found" {
		t.Errorf("unknown job: %d %s", r.status, r.body)
	}
	if r := do(t, http.MethodPost, e.srv.URL+"/api/jobs/cancel", []byte(`{"job_ids": [1]}`), nil); r.status != 400 {
		t.Errorf("malformed ids: %d %s", r.status, r.body)
	}
	if r := do(t, http.MethodPost, e.srv.URL+"/api/jobs/"+p3+"/cancel", nil, nil); r.json(t)["cancelled"] != true {
		t.Errorf("cancel pending: %s", r.body)
	}
	e.sim.SetClassDelay("ImageBlur", 0)
	sock.wait("end of p2", finished(p2))
	if st := do(t, http.MethodGet, e.srv.URL+"/history/"+p3, nil, nil); string(st.body) != "{}" {
		t.Errorf("a prompt cancelled while pending has history: %s", st.body)
	}
}

func jsonNumber(s string) any { return json.Number(s) }
