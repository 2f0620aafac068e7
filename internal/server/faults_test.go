package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/comfy/comfysim"
)

// simURLs lists the simulators' URLs by backend id.
func simURLs(tb testing.TB, c *http.Client, s *Server) map[string]string {
	tb.Helper()
	_, body := get(tb, c, s.URL()+"/v1/backends")
	var list api.BackendList
	if err := json.Unmarshal(body, &list); err != nil {
		tb.Fatalf("backends: %s (%v)", body, err)
	}
	urls := map[string]string{}
	for _, b := range list.Backends {
		urls[b.ID] = b.URL
	}
	return urls
}

func simStats(tb testing.TB, c *http.Client, url string) comfysim.Stats {
	tb.Helper()
	code, body := get(tb, c, url+"/sim/stats")
	var st comfysim.Stats
	if err := json.Unmarshal(body, &st); code != http.StatusOK || err != nil {
		tb.Fatalf("sim stats: %d %s (%v)", code, body, err)
	}
	return st
}

func simQueue(tb testing.TB, c *http.Client, url string) comfy.QueueStatus {
	tb.Helper()
	_, body := get(tb, c, url+"/queue")
	var q comfy.QueueStatus
	if err := json.Unmarshal(body, &q); err != nil {
		tb.Fatalf("queue: %s (%v)", body, err)
	}
	return q
}

func setFault(tb testing.TB, c *http.Client, url, body string) {
	tb.Helper()
	if code, resp := post(tb, c, url+"/sim/faults", body); code != http.StatusOK {
		tb.Fatalf("sim faults %s: %d %s", body, code, resp)
	}
}

// submitJobs submits n txt2img jobs of steps steps and returns their ids.
func submitJobs(tb testing.TB, c *http.Client, s *Server, n, steps int) []string {
	tb.Helper()
	var ids []string
	for i := range n {
		code, body := post(tb, c, s.URL()+"/v1/jobs",
			fmt.Sprintf(`{"workflow":"txt2img","params":{"steps":%d,"width":64,"height":64,"seed":%d}}`, steps, 1000+i))
		var j api.Job
		if code != http.StatusCreated || json.Unmarshal(body, &j) != nil {
			tb.Fatalf("submit: %d %s", code, body)
		}
		ids = append(ids, j.ID)
	}
	return ids
}

func waitJob(tb testing.TB, c *http.Client, s *Server, id string) api.Job {
	tb.Helper()
	_, body := get(tb, c, s.URL()+"/v1/jobs/"+id+"?wait=60s")
	var j api.Job
	if err := json.Unmarshal(body, &j); err != nil {
		tb.Fatalf("job %s: %s (%v)", id, body, err)
	}
	return j
}

// TestHungSimulatorHandsOverItsJobs: with a 5s stall timeout, 8 jobs on 2
// simulators all succeed after one simulator hangs while it runs a job and
// holds another, and /sim/stats shows 8 completions in all: none ran
// twice, not even once the hung simulator is let go.
func TestHungSimulatorHandsOverItsJobs(t *testing.T) {
	s := startServer(t, Config{SimBackends: 2, Examples: true, StallTimeout: 5 * time.Second,
		Sim: comfysim.Options{StepDelay: 40 * time.Millisecond}})
	c := client(t)
	waitReady(t, c, s)
	sims := simURLs(t, c, s)
	hung, good := sims["sim-1"], sims["sim-2"]
	// Its jobs spend 3s in VAEDecode with SaveImage still ahead: a hang
	// (which takes hold at the next node or step) then stops them mid-run.
	setFault(t, c, hung, `{"class_delays":{"VAEDecode":"3s"}}`)
	ids := submitJobs(t, c, s, 8, 10)
	hangWhileBusy(t, c, hung)
	for _, id := range ids {
		if j := waitJob(t, c, s, id); j.State != api.StateSucceeded {
			t.Errorf("job %s: %s after %d attempts (%+v)", id, j.State, j.Attempts, j.Error)
		}
	}
	setFault(t, c, hung, `{"hang":false,"class_delays":{"VAEDecode":0}}`)
	idle := func() bool { q := simQueue(t, c, hung); return len(q.Running)+len(q.Pending) == 0 }
	if !poll(idle) {
		t.Fatalf("the hung simulator never settled: %+v", simQueue(t, c, hung))
	}
	h, g := simStats(t, c, hung), simStats(t, c, good)
	if n := h.PromptsSucceeded + g.PromptsSucceeded; n != 8 {
		t.Errorf("simulators completed %d prompts for 8 jobs (hung %+v, good %+v)", n, h, g)
	}
}

// hangWhileBusy hangs the simulator at url once it runs a prompt and holds
// another; if the running one ends first, it lets go and tries again.
func hangWhileBusy(tb testing.TB, c *http.Client, url string) {
	tb.Helper()
	busy := func() bool { q := simQueue(tb, c, url); return len(q.Running) == 1 && len(q.Pending) == 1 }
	for range 20 {
		if !poll(busy) {
			tb.Fatal("the simulator never held two jobs")
		}
		setFault(tb, c, url, `{"hang":true}`)
		if busy() {
			return
		}
		setFault(tb, c, url, `{"hang":false}`)
	}
	tb.Fatal("could not hang the simulator while it was busy")
}

// TestCrashingJobFailsNamingBackends: a prompt that kills every simulator
// it runs on (crash_node) fails once its crash retries are spent, saying it
// is suspected of crashing them and naming them; no other simulator dies,
// and the one it never reached serves the next job.
func TestCrashingJobFailsNamingBackends(t *testing.T) {
	const crasher = `{"prompt": {
	 "1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0}},
	 "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
	 "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "boom"}}}}`
	for _, tc := range []struct {
		name    string
		retries int
		deaths  int
	}{
		{"default: one retry", 0, 2},
		{"no retries", NoCrashRetries, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, Config{SimBackends: 3, Examples: true, MaxCrashRetries: tc.retries,
				Sim: comfysim.Options{CrashNode: "ImageInvert"}})
			c := client(t)
			waitReady(t, c, s)
			sims := simURLs(t, c, s)
			code, body := post(t, c, s.URL()+"/prompt", crasher)
			var queued struct {
				PromptID string `json:"prompt_id"`
			}
			if code != http.StatusOK || json.Unmarshal(body, &queued) != nil {
				t.Fatalf("POST /prompt: %d %s", code, body)
			}
			j := waitJob(t, c, s, queued.PromptID)
			if j.State != api.StateFailed || j.Error == nil || j.Error.Type != "suspected_crash" || j.Attempts != tc.deaths {
				t.Fatalf("crashing job: %s after %d attempts (%+v)", j.State, j.Attempts, j.Error)
			}
			var took []string
			for _, a := range j.Error.Attempts {
				took = append(took, a.Backend)
				if !strings.Contains(j.Error.Message, a.Backend) {
					t.Errorf("error %q does not name %s", j.Error.Message, a.Backend)
				}
			}
			for id, url := range sims {
				resp, err := c.Get(url + "/system_stats")
				if err == nil {
					resp.Body.Close()
				}
				if died := err != nil; died != slices.Contains(took, id) {
					t.Errorf("simulator %s died: %v; the job ran on %v", id, died, took)
				}
			}
			next := waitJob(t, c, s, submitJobs(t, c, s, 1, 2)[0])
			if next.State != api.StateSucceeded || slices.Contains(took, next.Backend) {
				t.Errorf("next job: %s on %q (%+v); dead: %v", next.State, next.Backend, next.Error, took)
			}
		})
	}
}
