package main

import (
	"strings"
	"testing"

	"github.com/comfygate/comfygate/api"
)

func TestLineViewTimes(t *testing.T) {
	var b strings.Builder
	v := &lineView{w: &b, start: cliEpoch}
	v.event(event("1", api.EventQueued, 0, api.EventQueuedData{Position: 0}))
	v.event(event("2", api.EventStarted, 1250, api.EventDispatchedData{Backend: "gpu0"}))
	v.event(event("3", api.EventNode, 754_000, api.EventNodeData{Node: "9", NodeType: "Save\x1b[31mImage"}))
	want := "[   0.0s] queued, 0 ahead\n[   1.2s] started on gpu0\n[ 754.0s] node 9 (Save?[31mImage)\n"
	if b.String() != want {
		t.Errorf("lines:\n%s\nwant:\n%s", b.String(), want)
	}
}

// TestBarView drives the terminal view into a buffer: the bar moves with
// the job's fraction, a retry is printed above it, and the end is a line.
func TestBarView(t *testing.T) {
	var b strings.Builder
	v := newBarView(&b, 0) // no throttle: every update renders
	v.event(event("1", api.EventQueued, 0, api.EventQueuedData{Position: 3}))
	v.event(event("2", api.EventRetrying, 10, api.EventRetryingData{Attempt: 2, Reason: "backend lost"}))
	v.event(event("3.1", api.EventProgress, 20, api.Progress{Node: "3", NodeType: "KSampler", Value: 5, Max: 10, Fraction: 0.5}))
	v.event(event("4", api.EventSucceeded, 30, api.Job{ID: "j"}))
	out := b.String()
	t.Logf("rendered: %q", out)
	for _, want := range []string{"queued, 3 ahead", "retrying (attempt 2): backend lost\n", " 50% |", "KSampler", "succeeded\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("bar output lacks %q:\n%q", want, out)
		}
	}
	if !strings.HasSuffix(out, "succeeded\n") {
		t.Errorf("bar output does not end with the outcome:\n%q", out)
	}
}

func TestDescribeJobError(t *testing.T) {
	for _, tc := range []struct {
		err  *api.JobError
		want string
	}{
		{nil, "no error detail"},
		{&api.JobError{Type: "backend_lost", Message: "3 attempts failed"}, "backend_lost: 3 attempts failed"},
		{&api.JobError{Type: "execution_error", NodeID: "3", Message: "boom"}, "execution_error in node 3: boom"},
		{&api.JobError{Type: "execution_error", NodeID: "3", NodeType: "KSampler", Message: "boom"}, "execution_error in node 3 (KSampler): boom"},
	} {
		if got := describeJobError(tc.err); got != tc.want {
			t.Errorf("describeJobError(%+v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
