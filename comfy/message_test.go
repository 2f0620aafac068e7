package comfy

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCapturedMessagesRoundTrip decodes every captured WebSocket message into
// its typed event and re-encodes it: keys must come back in ComfyUI's order,
// numbers with the same text.
func TestCapturedMessagesRoundTrip(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/ws-*.jsonl")
	if err != nil || len(files) == 0 {
		t.Fatalf("no ws testdata: %v", err)
	}
	seen := map[string]int{}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			for i, line := range readLines(t, name) {
				ev, err := DecodeMessage(line)
				if err != nil {
					t.Fatalf("line %d: %v", i+1, err)
				}
				if u, ok := ev.(UnknownEvent); ok {
					t.Errorf("line %d: known capture type %q decoded as unknown", i+1, u.Type)
				}
				seen[ev.EventType()]++
				out, err := EncodeMessage(ev)
				if err != nil {
					t.Fatalf("line %d: encode: %v", i+1, err)
				}
				if diff := cmp.Diff(jsonTokens(t, line), jsonTokens(t, out)); diff != "" {
					t.Errorf("line %d: re-encoded %s differs (-captured +encoded):\n%s", i+1, ev.EventType(), diff)
				}
			}
		})
	}
	for _, typ := range []string{EventStatus, EventExecutionStart, EventExecutionCached, EventExecuting,
		EventProgressState, EventExecuted, EventExecutionSuccess, EventExecutionError,
		EventExecutionInterrupted, EventFeatureFlags} {
		if seen[typ] == 0 {
			t.Errorf("captures contain no %s message; testdata incomplete?", typ)
		}
	}
}

func TestDecodeMessageTypes(t *testing.T) {
	t.Parallel()
	lines := readLines(t, "synthetic/ws-blocked-and-resync.jsonl")
	want := []Event{
		Executing{Node: ptr("7")},
		ExecutionError{PromptID: "p1", NodeID: "5", NodeType: "Switch", Executed: []string{"1"},
			ExceptionMessage: "Execution Blocked: off", ExceptionType: ExceptionExecutionBlocked,
			Traceback: []string{}, CurrentInputs: json.RawMessage(`[]`), CurrentOutputs: []string{}},
		Progress{Value: "7", Max: "20", PromptID: "p1", Node: ptr("3")},
		Progress{Value: "0.5", Max: "1.0", PromptID: "p1"},
		Logs{Entries: []LogEntry{{T: "2025-10-11T12:00:00.000000", M: "text"}}},
		UnknownEvent{Type: "display_component", Data: json.RawMessage(`{"node_id": "4", "component": "ChatHistoryWidget", "props": {"history": "[]"}}`)},
		UnknownEvent{Type: "notification", Data: json.RawMessage(`{"value": "hi", "id": null}`)},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d", len(lines), len(want))
	}
	for i, line := range lines {
		got, err := DecodeMessage(line)
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if diff := cmp.Diff(want[i], got); diff != "" {
			t.Errorf("line %d (-want +got):\n%s", i+1, diff)
		}
		out, err := EncodeMessage(got)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(jsonTokens(t, line), jsonTokens(t, out)); diff != "" {
			t.Errorf("line %d re-encoded (-want +got):\n%s", i+1, diff)
		}
	}
}

func TestDecodeMessageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, wantErr string }{
		{"not JSON", `{`, "decode message"},
		{"no type", `{"data": {}}`, `field "type"`},
		{"data not object", `{"type": "executing", "data": "3"}`, `decode executing message: field "data": want an object, got string`},
		{"bad field type", `{"type": "execution_start", "data": {"prompt_id": 5}}`, "decode execution_start message"},
		{"trailing data", `{"type": "status", "data": {}} x`, "decode message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeMessage([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
			var me *MessageError
			if !errors.As(err, &me) || !errors.Is(err, ErrMalformed) || string(me.Raw) != tt.in {
				t.Errorf("err %v is not a *MessageError wrapping ErrMalformed with the raw frame", err)
			}
		})
	}
}

// TestEncodeExecutingForms checks the three wire forms of "executing".
func TestEncodeExecutingForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ev   Executing
		want string
	}{
		{"node starts", Executing{Node: ptr("3"), DisplayNode: ptr("3"), PromptID: "p"}, `{"type":"executing","data":{"node":"3","display_node":"3","prompt_id":"p"}}`},
		{"run done", Executing{PromptID: "p"}, `{"type":"executing","data":{"node":null,"prompt_id":"p"}}`},
		{"reconnect resync", Executing{Node: ptr("3")}, `{"type":"executing","data":{"node":"3"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EncodeMessage(tt.ev)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestEncodeZeroValues checks that zero-valued events still encode the shapes
// ComfyUI sends ([] and {} rather than null), so encoders need no care.
func TestEncodeZeroValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ev   Event
		want string
	}{
		{ExecutionCached{PromptID: "p"}, `{"nodes":[],"prompt_id":"p"}`},
		{ExecutionError{PromptID: "p"}, `{"prompt_id":"p","node_id":"","node_type":"","executed":[],"exception_message":"","exception_type":"","traceback":[],"current_inputs":[],"current_outputs":[]}`},
		{ExecutionInterrupted{PromptID: "p"}, `{"prompt_id":"p","node_id":"","node_type":"","executed":[]}`},
		{Executed{Node: "9", PromptID: "p"}, `{"node":"9","output":null,"prompt_id":"p"}`},
		{ProgressState{PromptID: "p"}, `{"prompt_id":"p","nodes":{}}`},
		{StatusData{}, `{"status":{"exec_info":{"queue_remaining":0}}}`},
		{Logs{}, `{"entries":[],"size":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.ev.EventType(), func(t *testing.T) {
			got, err := EncodeMessage(tt.ev)
			if err != nil {
				t.Fatal(err)
			}
			want := `{"type":"` + tt.ev.EventType() + `","data":` + tt.want + `}`
			if string(got) != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}

func TestStatusMessageDecode(t *testing.T) {
	t.Parallel()
	var h History
	if err := json.Unmarshal(findResponse(t, "09-get-history-id-interrupted-prompt-in-history").Body, &h); err != nil {
		t.Fatal(err)
	}
	if len(h) != 1 {
		t.Fatalf("%d entries", len(h))
	}
	st := h[0].Entry.Status
	if st.StatusStr != StatusError || st.Completed || st.Outcome() != EventExecutionInterrupted {
		t.Errorf("status %+v outcome %q", st, st.Outcome())
	}
	last, err := st.Messages[len(st.Messages)-1].Decode()
	if err != nil {
		t.Fatal(err)
	}
	in, ok := last.(ExecutionInterrupted)
	if !ok || in.NodeID != "3" || in.NodeType != "ImageBlur" {
		t.Errorf("last message = %#v", last)
	}
}

func TestPythonNonFinite(t *testing.T) {
	t.Parallel()
	in := `{"type": "execution_error", "data": {"prompt_id": "p", "current_inputs": {"x": [NaN, Infinity, -Infinity, "NaN \"Infinity"]}}}`
	ev, err := DecodeMessage([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	got := string(ev.(ExecutionError).CurrentInputs)
	if want := `{"x": [null, null, null, "NaN \"Infinity"]}`; got != want {
		t.Errorf("current_inputs %s, want %s", got, want)
	}
	if _, err := DecodeMessage([]byte(`{"type": "x", "data": NaNa}`)); err == nil {
		t.Error("NaNa accepted")
	}
}
