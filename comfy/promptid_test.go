package comfy

import "testing"

func TestPromptIDOf(t *testing.T) {
	node := "3"
	tests := []struct {
		name string
		ev   Event
		want string
	}{
		{"execution_start", ExecutionStart{PromptID: "p"}, "p"},
		{"execution_cached", ExecutionCached{PromptID: "p"}, "p"},
		{"executing", Executing{Node: &node, PromptID: "p"}, "p"},
		{"reconnect executing", Executing{Node: &node}, ""},
		{"progress", Progress{PromptID: "p"}, "p"},
		{"progress_state", ProgressState{PromptID: "p"}, "p"},
		{"executed", Executed{PromptID: "p"}, "p"},
		{"execution_success", ExecutionSuccess{PromptID: "p"}, "p"},
		{"execution_error", ExecutionError{PromptID: "p"}, "p"},
		{"execution_interrupted", ExecutionInterrupted{PromptID: "p"}, "p"},
		{"preview with metadata", PreviewImageWithMetadata{Meta: PreviewMetadata{PromptID: "p"}}, "p"},
		{"status", StatusData{}, ""},
		{"unknown with prompt_id", UnknownEvent{Type: "x", Data: []byte(`{"prompt_id":"p"}`)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PromptIDOf(tt.ev); got != tt.want {
				t.Errorf("PromptIDOf(%T) = %q, want %q", tt.ev, got, tt.want)
			}
		})
	}
}
