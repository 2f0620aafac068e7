package comfyapi

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/job"
)

// promptLookups counts the jobs the surface asks the use cases for by
// prompt_id.
type promptLookups struct {
	Gateway
	n atomic.Int64
}

func (p *promptLookups) JobByPromptID(ctx context.Context, owner, promptID string) (*job.Job, error) {
	p.n.Add(1)
	return p.Gateway.JobByPromptID(ctx, owner, promptID)
}

// The history of a prompt that just ended comes from the job its end
// carried, without looking the job up; once the job changes (hidden from
// /history, deleted) the store is asked again.
func TestHistoryOfAJobThatJustEnded(t *testing.T) {
	lookups := &promptLookups{}
	e := newFleetEnv(t, fleetEnvOptions{gateway: func(g Gateway) Gateway { lookups.Gateway = g; return lookups }})
	sock := dialWS(t, e.srv.URL, "?clientId=ended", nil)
	run := func() string {
		id := submit(t, e.srv.URL, map[string]any{"prompt": imageGraph(8, 8, "ended"), "client_id": "ended"}, nil)
		sock.wait("the end of the run", finished(id))
		return id
	}
	history := func(id string) map[string]any {
		return do(t, http.MethodGet, e.srv.URL+"/history/"+id, nil, nil).json(t)
	}
	tests := []struct {
		name        string
		change      func(id string)
		wantEntry   bool
		wantLookups int64
	}{
		{"just ended", func(string) {}, true, 0},
		{"hidden since", func(id string) {
			do(t, http.MethodPost, e.srv.URL+"/history", mustJSON(t, map[string]any{"delete": []string{id}}), nil)
		}, false, 1},
		{"deleted since", func(id string) {
			if _, err := e.store.DeleteJob(context.Background(), id, nil); err != nil {
				t.Fatal(err)
			}
		}, false, 1},
	}
	for _, tt := range tests {
		id := run()
		tt.change(id)
		before := lookups.n.Load()
		_, got := history(id)[id]
		if got != tt.wantEntry {
			t.Errorf("%s: history entry %v, want %v", tt.name, got, tt.wantEntry)
		}
		if n := lookups.n.Load() - before; n != tt.wantLookups {
			t.Errorf("%s: %d lookups of the job, want %d", tt.name, n, tt.wantLookups)
		}
	}
}

// The jobs kept for their history are bounded, the oldest going first.
func TestEndedJobsBounded(t *testing.T) {
	t.Parallel()
	e := newEndedJobs()
	end := func(i int) {
		e.add(events.Event{Job: &job.Job{ID: itoa(i), Owner: "o", State: job.StateSucceeded}})
	}
	for i := range maxEnded + 1 {
		end(i)
	}
	if len(e.jobs) != maxEnded || e.get("o", "0") != nil || e.get("o", itoa(maxEnded)) == nil {
		t.Errorf("%d jobs kept, the first kept %v, the last %v; want %d, the first gone", len(e.jobs),
			e.get("o", "0") != nil, e.get("o", itoa(maxEnded)) != nil, maxEnded)
	}
	e.add(events.Event{Job: &job.Job{ID: "relayed", Owner: "o", State: job.StateSucceeded}, Relayed: true})
	e.add(events.Event{Job: &job.Job{ID: "running", Owner: "o", State: job.StateRunning}})
	if e.get("o", "relayed") != nil || e.get("o", "running") != nil {
		t.Error("kept another replica's job or one that has not ended")
	}
}
