package comfyapi

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/comfygate/comfygate/internal/job"
)

// TestQueueSplitsRunningFromPrefetched holds each backend in a prompt
// while the fleet has prefetched the next one into its ComfyUI queue and
// keeps one more in its own. ComfyUI's /queue lists under queue_running
// only what executes; comfygate lists each prompt that executes on some
// backend there (one per backend), and the prefetched ones, which have not
// started, under queue_pending ahead of those it still holds. GET /prompt,
// the status broadcast and /api/jobs agree, and a pending prompt that a
// backend already holds can be deleted as ComfyUI deletes pending ones.
func TestQueueSplitsRunningFromPrefetched(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		backends int
	}{
		{name: "one backend", backends: 1},
		{name: "two backends", backends: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newFleetEnv(t, fleetEnvOptions{backends: tc.backends})
			for _, s := range e.sims {
				s.SetClassDelay("ImageBlur", time.Hour) // released below
			}
			sock := dialWS(t, e.srv.URL, "?clientId=split", nil)
			n := 2*tc.backends + 1 // one running and one prefetched per backend, one held back
			var ids []string
			for i := range n {
				ids = append(ids, submit(t, e.srv.URL, map[string]any{"prompt": slowGraph(fmt.Sprintf("split/%d", i)), "client_id": "split"}, nil))
			}
			byState := e.waitStates(t, map[job.State]int{job.StateRunning: tc.backends, job.StateDispatched: tc.backends, job.StateQueued: 1})
			running, prefetched, held := byState[job.StateRunning], byState[job.StateDispatched], byState[job.StateQueued]

			q := do(t, http.MethodGet, e.srv.URL+"/queue", nil, nil).json(t)
			if got := queueIDs(t, q["queue_running"]); !sameSet(got, running) {
				t.Errorf("queue_running = %v, want the executing prompts %v", got, running)
			}
			gotPending := queueIDs(t, q["queue_pending"])
			if wantPending := append(slices.Clone(prefetched), held...); !sameSet(gotPending, wantPending) ||
				!sameSet(gotPending[:len(prefetched)], prefetched) {
				t.Errorf("queue_pending = %v, want the prefetched %v, then the held %v", gotPending, prefetched, held)
			}
			remaining := do(t, http.MethodGet, e.srv.URL+"/prompt", nil, nil).json(t)["exec_info"].(map[string]any)["queue_remaining"]
			if remaining != jsonNumber(fmt.Sprint(n)) {
				t.Errorf("GET /prompt queue_remaining = %v, want %d (running + pending)", remaining, n)
			}
			sock.wait(fmt.Sprintf("a status of %d remaining", n), func(m wsMsg) bool { return statusCount(m) == fmt.Sprint(n) })

			wantStatus := map[string][]string{"in_progress": running, "pending": append(slices.Clone(prefetched), held...)}
			for status, want := range wantStatus {
				if got := jobIDs(t, do(t, http.MethodGet, e.srv.URL+"/api/jobs?status="+status, nil, nil).json(t)); !sameSet(got, want) {
					t.Errorf("/api/jobs?status=%s = %v, want %v", status, got, want)
				}
			}
			if st := do(t, http.MethodGet, e.srv.URL+"/api/jobs/"+prefetched[0], nil, nil).json(t)["status"]; st != "pending" {
				t.Errorf("/api/jobs/{prefetched} status = %v, want pending", st)
			}

			do(t, http.MethodPost, e.srv.URL+"/queue", mustJSON(t, map[string]any{"delete": []string{prefetched[0]}}), nil)
			if j, err := e.store.GetJob(context.Background(), prefetched[0]); err != nil || j.State != job.StateCancelled {
				t.Errorf("a prefetched prompt deleted from queue_pending: %v, %v; want cancelled", j.State, err)
			}
			if h := do(t, http.MethodGet, e.srv.URL+"/history/"+prefetched[0], nil, nil); string(h.body) != "{}" {
				t.Errorf("a prompt deleted while pending has history: %s", h.body)
			}
			sock.wait(fmt.Sprintf("a status of %d remaining", n-1), func(m wsMsg) bool { return statusCount(m) == fmt.Sprint(n-1) })

			for _, s := range e.sims {
				s.SetClassDelay("ImageBlur", 0)
			}
			ended := map[string]bool{}
			sock.wait("the end of every other prompt", func(m wsMsg) bool {
				if id, _ := m.Data["prompt_id"].(string); finished(id)(m) {
					ended[id] = true
				}
				return len(ended) == len(ids)-1
			})
		})
	}
}

// waitStates polls the store until its active jobs are in the states
// counted by want, and returns their ids by state, oldest first.
func (e *fleetEnv) waitStates(tb testing.TB, want map[job.State]int) map[job.State][]string {
	tb.Helper()
	deadline := time.Now().Add(waitTimeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		jobs, _, err := e.store.ListJobs(context.Background(), job.JobFilter{States: activeStates(), Order: job.OrderAsc})
		if err != nil {
			tb.Fatal(err)
		}
		got := map[job.State][]string{}
		for _, j := range jobs {
			got[j.State] = append(got[j.State], j.ID)
		}
		match := len(got) == len(want)
		for st, n := range want {
			match = match && len(got[st]) == n
		}
		if match {
			return got
		}
		if time.Now().After(deadline) {
			tb.Fatalf("jobs by state %v after %s, want counts %v", got, waitTimeout, want)
		}
		<-tick.C
	}
}

// queueIDs returns the prompt ids of /queue items, in order.
func queueIDs(tb testing.TB, v any) []string {
	tb.Helper()
	items, ok := v.([]any)
	if !ok {
		tb.Fatalf("not a list of queue items: %v", v)
	}
	var ids []string
	for _, it := range items {
		ids = append(ids, fmt.Sprint(it.([]any)[1]))
	}
	return ids
}

// jobIDs returns the ids of an /api/jobs answer.
func jobIDs(tb testing.TB, list map[string]any) []string {
	tb.Helper()
	var ids []string
	for _, j := range list["jobs"].([]any) {
		ids = append(ids, fmt.Sprint(j.(map[string]any)["id"]))
	}
	return ids
}

// statusCount is a status message's queue_remaining, "" for other messages.
func statusCount(m wsMsg) string {
	if m.Type != "status" {
		return ""
	}
	st, _ := m.Data["status"].(map[string]any)
	info, _ := st["exec_info"].(map[string]any)
	return fmt.Sprint(info["queue_remaining"])
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
