// Package storetest is the conformance suite of job.Store: one set of tests
// that the SQLite and the PostgreSQL store both run, so that the gateway can
// rely on the contract documented on job.Store and not on an engine.
//
// An engine's test calls Run with a constructor of empty stores:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) job.Store { return openTemp(t) })
//	}
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/comfygate/comfygate/internal/job"
)

// NewStore returns a new, empty store for one test. It should close the
// store in t.Cleanup; Close is idempotent, so the suite may close it too.
type NewStore func(t *testing.T) job.Store

// Run runs the whole suite against stores made by newStore. Subtests run in
// parallel, each with its own store.
func Run(t *testing.T, newStore NewStore) {
	groups := []struct {
		name  string
		tests map[string]func(*testing.T, NewStore)
	}{
		{"CreateJob", createTests},
		{"CreateJobWithEvent", createWithEventTests},
		{"CreateJobThenUpdate", createThenUpdateTests},
		{"GetJob", getTests},
		{"UpdateJob", updateTests},
		{"UpdateJobWithEvent", updateWithEventTests},
		{"UpdateJobWithEvents", updateWithEventsTests},
		{"Graphs", graphTests},
		{"Events", eventTests},
		{"ListJobs", listTests},
		{"Scheduler", schedulerTests},
		{"Workflows", workflowTests},
		{"Artifacts", artifactTests},
		{"Lifecycle", lifecycleTests},
		{"Comfy", comfyTests},
		{"Backends", backendTests},
		{"Delete", deleteTests},
		{"Webhooks", webhookTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for name, test := range g.tests {
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					test(t, newStore)
				})
			}
		})
	}
}

// base is a time all fixtures are relative to.
var base = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// at returns base plus n seconds.
func at(n int) time.Time { return base.Add(time.Duration(n) * time.Second) }

// newJob returns a minimal valid job to create.
func newJob(mods ...func(*job.Job)) *job.Job {
	j := &job.Job{
		Source:      job.SourceREST,
		Workflow:    "txt2img",
		Graph:       json.RawMessage(`{"1":{"class_type":"KSampler","inputs":{"seed":18446744073709551615}}}`),
		OutputNodes: []string{"9"},
		MaxAttempts: 3,
	}
	for _, m := range mods {
		m(j)
	}
	return j
}

func create(tb testing.TB, s job.Store, j *job.Job) *job.Job {
	tb.Helper()
	got, replayed, err := s.CreateJob(context.Background(), j)
	if err != nil || replayed {
		tb.Fatalf("CreateJob = replayed %v, err %v", replayed, err)
	}
	return got
}

func get(tb testing.TB, s job.Store, id string) *job.Job {
	tb.Helper()
	got, err := s.GetJob(context.Background(), id)
	if err != nil {
		tb.Fatalf("GetJob(%s): %v", id, err)
	}
	return got
}

// createN creates n jobs and returns them in creation order.
func createN(tb testing.TB, s job.Store, n int, mods ...func(*job.Job)) []*job.Job {
	tb.Helper()
	out := make([]*job.Job, n)
	for i := range out {
		out[i] = create(tb, s, newJob(mods...))
	}
	return out
}

// transition returns an update fn that moves a job to state to.
func transition(to job.State) func(*job.Job) error {
	return func(j *job.Job) error { return j.TransitionTo(to, time.Now()) }
}

// setState moves j along legal transitions to state to.
func setState(tb testing.TB, s job.Store, id string, to job.State) *job.Job {
	tb.Helper()
	paths := map[job.State][]job.State{
		job.StateQueued:     nil,
		job.StateDispatched: {job.StateDispatched},
		job.StateRunning:    {job.StateDispatched, job.StateRunning},
		job.StateRetrying:   {job.StateDispatched, job.StateRetrying},
		job.StateSucceeded:  {job.StateDispatched, job.StateRunning, job.StateSucceeded},
		job.StateFailed:     {job.StateDispatched, job.StateFailed},
		job.StateCancelled:  {job.StateCancelled},
	}
	var j *job.Job
	for _, st := range paths[to] {
		var err error
		if j, err = s.UpdateJob(context.Background(), id, transition(st)); err != nil {
			tb.Fatalf("move job %s to %s: %v", id, st, err)
		}
	}
	if j == nil {
		j = get(tb, s, id)
	}
	return j
}

func ids(jobs []*job.Job) []string {
	var out []string
	for _, j := range jobs {
		out = append(out, j.ID)
	}
	return out
}

func wantErr(tb testing.TB, what string, err, target error) {
	tb.Helper()
	if !errors.Is(err, target) {
		tb.Errorf("%s: error = %v, want %v", what, err, target)
	}
}

func diff(tb testing.TB, what string, want, got any, opts ...cmp.Option) {
	tb.Helper()
	if d := cmp.Diff(want, got, opts...); d != "" {
		tb.Errorf("%s (-want +got):\n%s", what, d)
	}
}

func name(prefix string, i int) string { return fmt.Sprintf("%s-%d", prefix, i) }
