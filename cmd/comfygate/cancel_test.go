package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/comfy/comfysim"
)

// TestServeCancel cancels a job in each state. The backend takes two jobs
// at a time (one running, one waiting in ComfyUI's queue), and the jobs
// have so many slow steps that none ends by itself, so the states are
// deterministic: A runs, B is dispatched, C stays queued in comfygate.
func TestServeCancel(t *testing.T) {
	c, sim := startStack(t, comfysim.Options{StepDelay: 20 * time.Millisecond})
	endless := api.SubmitJobRequest{Workflow: "t2i", Params: map[string]any{"steps": 10000, "width": 64, "height": 64}}

	a := c.submit(endless)
	c.waitJob(a.ID, "running", inState(api.StateRunning))
	b := c.submit(endless)
	c.waitJob(b.ID, "dispatched", inState(api.StateDispatched))
	cJob := c.submit(endless)
	if got := c.job(cJob.ID); got.State != api.StateQueued || got.QueuePosition == nil || *got.QueuePosition != 0 {
		t.Fatalf("third job = %s at position %v, want queued at 0", got.State, got.QueuePosition)
	}

	for _, tc := range []struct {
		name string
		id   string
		ran  bool // whether the backend started it before the cancel
	}{
		{"queued", cJob.ID, false},
		{"dispatched", b.ID, false},
		{"running", a.ID, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.must(http.StatusOK, "POST", "/v1/jobs/"+tc.id+"/cancel", nil)
			events := c.readEvents(tc.id)
			if last := events[len(events)-1]; last.Type != api.EventCancelled {
				t.Fatalf("last event %s, want cancelled; events %v", last.Type, types(events))
			}
			if j := c.job(tc.id); j.State != api.StateCancelled || j.FinishedAt == nil {
				t.Fatalf("job = %s (finished %v), want cancelled with a finish time", j.State, j.FinishedAt)
			}
			if runs := sim.Stats().ExecutionsByPromptID[tc.id]; (runs > 0) != tc.ran {
				t.Fatalf("backend executed the job %d times; want ran=%v", runs, tc.ran)
			}
		})
	}

	t.Run("cancelling again returns the finished job", func(t *testing.T) {
		var j api.Job
		c.must(http.StatusOK, "POST", "/v1/jobs/"+a.ID+"/cancel", nil).decode(t, &j)
		if j.State != api.StateCancelled {
			t.Fatalf("state %s, want cancelled", j.State)
		}
	})
	t.Run("the backend is free again", func(t *testing.T) {
		sim.SetStepDelay(0)
		var j api.Job
		c.must(http.StatusCreated, "POST", "/v1/jobs?wait=60s", api.SubmitJobRequest{Workflow: "t2i", Params: map[string]any{"steps": 1}}).decode(t, &j)
		if j.State != api.StateSucceeded {
			t.Fatalf("next job %s, want succeeded (error %+v)", j.State, j.Error)
		}
	})
	t.Run("unknown job", func(t *testing.T) {
		c.must(http.StatusNotFound, "POST", "/v1/jobs/00000000-0000-4000-8000-000000000000/cancel", nil)
	})
}
