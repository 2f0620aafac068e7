package job_test

import (
	"testing"

	"github.com/comfygate/comfygate/internal/job"
)

func TestEndEvent(t *testing.T) {
	t.Parallel()
	for _, s := range job.States() {
		t.Run(string(s), func(t *testing.T) {
			t.Parallel()
			got := job.EndEvent(s)
			if s.Terminal() != (got != "") {
				t.Fatalf("EndEvent(%s) = %q for a state with Terminal() = %v", s, got, s.Terminal())
			}
			if got != "" && (!job.TerminalEvent(got) || got != string(s)) {
				t.Errorf("EndEvent(%s) = %q: want the terminal event named like the state", s, got)
			}
		})
	}
}

func TestNewEvent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		typ  string
		data any
		want string
	}{
		{"payload", job.EventRetrying, job.RetryingData{Attempt: 2, Reason: "backend_lost"}, `{"attempt":2,"reason":"backend_lost"}`},
		{"terminal", job.EventSucceeded, nil, `{}`},
		{"unencodable", job.EventFailed, func() {}, `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := job.NewEvent(tt.typ, tt.data)
			if e.Type != tt.typ || string(e.Data) != tt.want {
				t.Errorf("NewEvent = {%s %s}, want {%s %s}", e.Type, e.Data, tt.typ, tt.want)
			}
		})
	}
}
