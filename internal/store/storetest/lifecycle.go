package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/comfygate/comfygate/internal/job"
)

var lifecycleTests = map[string]func(*testing.T, NewStore){
	"Ping":             func(t *testing.T, ns NewStore) { wantErr(t, "Ping", ns(t).Ping(t.Context()), nil) },
	"Close":            closeTest,
	"CancelledContext": cancelledContext,
}

// cancelledContext checks that a write whose ctx has already ended is not
// applied and reports the context's error.
func cancelledContext(t *testing.T, ns NewStore) {
	s := ns(t)
	j := create(t, s, newJob())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	_, err := s.UpdateJob(ctx, j.ID, func(j *job.Job) error { called = true; j.Priority = 9; return nil })
	wantErr(t, "UpdateJob(cancelled)", err, context.Canceled)
	if called {
		t.Error("fn ran under a cancelled context")
	}
	_, _, err = s.CreateJob(ctx, newJob())
	wantErr(t, "CreateJob(cancelled)", err, context.Canceled)
	_, err = s.GetJob(ctx, j.ID)
	wantErr(t, "GetJob(cancelled)", err, context.Canceled)
	diff(t, "job after cancelled update", j, get(t, s, j.ID))
	if c, _ := s.CountByState(context.Background()); c[job.StateQueued] != 1 {
		t.Errorf("jobs after a cancelled create: %v, want 1 queued", c)
	}
}

// closeTest checks that every method fails with ErrClosed after Close.
func closeTest(t *testing.T, ns NewStore) {
	s := ns(t)
	j := create(t, s, newJob())
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	ctx := context.Background()
	nop := func(*job.Job) error { return nil }
	calls := map[string]func() error{
		"CreateJob": func() error { _, _, err := s.CreateJob(ctx, newJob()); return err },
		"GetJob":    func() error { _, err := s.GetJob(ctx, j.ID); return err },
		"ListJobs":  func() error { _, _, err := s.ListJobs(ctx, job.JobFilter{}); return err },
		"UpdateJob": func() error { _, err := s.UpdateJob(ctx, j.ID, nop); return err },
		"UpdateJobWithEvent": func() error {
			_, _, err := s.UpdateJobWithEvent(ctx, j.ID, func(*job.Job) (*job.Event, error) { return nil, nil })
			return err
		},
		"AppendEvent":      func() error { _, err := s.AppendEvent(ctx, j.ID, job.Event{Type: "x"}); return err },
		"ListEvents":       func() error { _, err := s.ListEvents(ctx, j.ID, 0, 0); return err },
		"DispatchOrder":    func() error { _, err := s.DispatchOrder(ctx, 1); return err },
		"ActiveJobs":       func() error { _, err := s.ActiveJobs(ctx); return err },
		"QueuePosition":    func() error { _, err := s.QueuePosition(ctx, j.ID); return err },
		"QueueKeys":        func() error { _, err := s.QueueKeys(ctx, 1); return err },
		"CountByState":     func() error { _, err := s.CountByState(ctx); return err },
		"JobOwner":         func() error { _, err := s.JobOwner(ctx, j.ID); return err },
		"JobUpdatedAt":     func() error { _, err := s.JobUpdatedAt(ctx, j.ID); return err },
		"PutWorkflow":      func() error { _, _, err := s.PutWorkflow(ctx, wf("w", `{}`)); return err },
		"GetWorkflow":      func() error { _, err := s.GetWorkflow(ctx, "", "w", ""); return err },
		"ListWorkflows":    func() error { _, err := s.ListWorkflows(ctx, ""); return err },
		"DeleteWorkflow":   func() error { return s.DeleteWorkflow(ctx, "", "w") },
		"PutArtifact":      func() error { return s.PutArtifact(ctx, artifact("a", "", "", "")) },
		"GetArtifact":      func() error { _, err := s.GetArtifact(ctx, "a"); return err },
		"GetOwnedArtifact": func() error { _, err := s.GetOwnedArtifact(ctx, "a", "o"); return err },
		"ListArtifacts":    func() error { _, err := s.ListArtifacts(ctx, j.ID); return err },
		"Ping":             func() error { return s.Ping(ctx) },
		"DeleteJob":        func() error { _, err := s.DeleteJob(ctx, j.ID, nil); return err },
		"JobsFinishedBefore": func() error {
			_, err := s.JobsFinishedBefore(ctx, time.Now(), 1)
			return err
		},
	}
	for name, call := range calls {
		wantErr(t, name+" after Close", call(), job.ErrClosed)
	}
}
