package job_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/comfygate/comfygate/internal/job"
)

func TestIdempotencyMismatchError(t *testing.T) {
	err := fmt.Errorf("create job: %w", &job.IdempotencyMismatchError{Key: "k1", JobID: "j1"})
	if !errors.Is(err, job.ErrIdempotencyMismatch) {
		t.Fatalf("errors.Is(%v, ErrIdempotencyMismatch) = false", err)
	}
	var me *job.IdempotencyMismatchError
	if !errors.As(err, &me) || me.Key != "k1" || me.JobID != "j1" {
		t.Errorf("errors.As gave %+v, want key k1 and job j1", me)
	}
}

func TestErrorMessage(t *testing.T) {
	tests := []struct {
		name string
		err  job.Error
		want string
	}{
		{"type only", job.Error{Type: "backend_lost"}, "backend_lost"},
		{"with node", job.Error{Type: "execution_error", Message: "OOM", NodeID: "3", NodeType: "KSampler"},
			"execution_error in node 3 (KSampler): OOM"},
		{"node without type", job.Error{Type: "x", Message: "m", NodeID: "9"}, "x in node 9: m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWorkflowVersion(t *testing.T) {
	g := json.RawMessage(`{"1": {"class_type": "A", "inputs": {}}}`)
	compact := json.RawMessage(`{"1":{"class_type":"A","inputs":{}}}`)
	v := job.WorkflowVersion(g, nil)
	if len(v) != 16 {
		t.Fatalf("version %q: want 16 hex digits", v)
	}
	if got := job.WorkflowVersion(compact, nil); got != v {
		t.Errorf("whitespace changed the version: %s vs %s", got, v)
	}
	if got := job.WorkflowVersion(g, json.RawMessage(`{}`)); got == v {
		t.Error("params do not change the version")
	}
	// Moving bytes between graph and params must not collide.
	if job.WorkflowVersion(json.RawMessage(`1`), json.RawMessage(`23`)) == job.WorkflowVersion(json.RawMessage(`12`), json.RawMessage(`3`)) {
		t.Error("graph/params boundary is ambiguous")
	}
}

func TestLimits(t *testing.T) {
	tests := []struct{ in, list, events int }{
		{0, job.DefaultListLimit, job.DefaultEventLimit},
		{-5, job.DefaultListLimit, job.DefaultEventLimit},
		{7, 7, 7},
		{job.MaxListLimit + 1, job.MaxListLimit, job.MaxListLimit + 1},
		{job.MaxEventLimit + 1, job.MaxListLimit, job.MaxEventLimit},
	}
	for _, tt := range tests {
		if got := (job.JobFilter{Limit: tt.in}).PageLimit(); got != tt.list {
			t.Errorf("PageLimit(%d) = %d, want %d", tt.in, got, tt.list)
		}
		if got := job.EventLimit(tt.in); got != tt.events {
			t.Errorf("EventLimit(%d) = %d, want %d", tt.in, got, tt.events)
		}
	}
}
