package comfy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
)

// Event is one decoded WebSocket frame: a typed JSON message (StatusData,
// Executing, ...), a binary frame (PreviewImage, ProgressText, ...), or an
// UnknownEvent / UnknownBinary that is passed on unchanged.
type Event interface {
	// EventType is the message's "type" for JSON messages, or a Binary* name
	// for binary frames.
	EventType() string
}

// Types of JSON WebSocket messages.
const (
	EventStatus               = "status"
	EventExecutionStart       = "execution_start"
	EventExecutionCached      = "execution_cached"
	EventExecuting            = "executing"
	EventProgress             = "progress"
	EventProgressState        = "progress_state"
	EventExecuted             = "executed"
	EventExecutionSuccess     = "execution_success"
	EventExecutionError       = "execution_error"
	EventExecutionInterrupted = "execution_interrupted"
	EventFeatureFlags         = "feature_flags"
	EventLogs                 = "logs"
)

// Message is the envelope of every JSON WebSocket message.
type Message struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

// StatusData is the "status" message. Sid is set only on the greeting that
// opens every connection; later status messages are broadcasts without it.
type StatusData struct {
	Status PromptInfo `json:"status"`
	Sid    *string    `json:"sid,omitempty"`
}

// ExecutionStart is "execution_start". Timestamp is ms since the epoch.
type ExecutionStart struct {
	PromptID  string `json:"prompt_id"`
	Timestamp int64  `json:"timestamp,omitempty"`
}

// ExecutionCached is "execution_cached": every node of the prompt whose output
// was already cached when the run started.
type ExecutionCached struct {
	Nodes     []string `json:"nodes"`
	PromptID  string   `json:"prompt_id"`
	Timestamp int64    `json:"timestamp,omitempty"`
}

// Executing is "executing". It has three forms: a node starting (Node and
// DisplayNode set), the end of a run (Node nil, no display_node), and the
// re-sync sent on reconnect (Node set, PromptID empty and omitted).
type Executing struct {
	Node        *string `json:"node"`
	DisplayNode *string `json:"display_node,omitempty"`
	PromptID    string  `json:"prompt_id,omitempty"`
}

// Done reports whether this is the final "executing" of a run (node null).
func (e Executing) Done() bool { return e.Node == nil }

// Progress is "progress". Custom nodes may send floats, so values are kept as
// json.Number.
type Progress struct {
	Value    json.Number `json:"value"`
	Max      json.Number `json:"max"`
	PromptID string      `json:"prompt_id,omitempty"`
	Node     *string     `json:"node"`
}

// ProgressState is "progress_state": a full snapshot of every node touched so
// far in the prompt (not a delta).
type ProgressState struct {
	PromptID string                  `json:"prompt_id"`
	Nodes    map[string]NodeProgress `json:"nodes"`
}

// NodeProgress is one node in ProgressState.
type NodeProgress struct {
	Value         json.Number `json:"value"`
	Max           json.Number `json:"max"`
	State         string      `json:"state"`
	NodeID        string      `json:"node_id"`
	PromptID      string      `json:"prompt_id"`
	DisplayNodeID string      `json:"display_node_id"`
	ParentNodeID  *string     `json:"parent_node_id"`
	RealNodeID    string      `json:"real_node_id"`
}

// States of NodeProgress.
const (
	NodeStatePending  = "pending"
	NodeStateRunning  = "running"
	NodeStateFinished = "finished"
	NodeStateError    = "error"
)

// Executed is "executed": a node produced UI output. Output is null for a
// cached output node without UI output.
type Executed struct {
	Node        string          `json:"node"`
	DisplayNode string          `json:"display_node,omitempty"`
	Output      json.RawMessage `json:"output"`
	PromptID    string          `json:"prompt_id"`
	Merge       *bool           `json:"merge,omitempty"`
}

// ExecutionSuccess is "execution_success". It arrives before history is
// written; the final Executing is the signal that history is ready.
type ExecutionSuccess struct {
	PromptID  string `json:"prompt_id"`
	Timestamp int64  `json:"timestamp,omitempty"`
}

// ExceptionExecutionBlocked is the exception_type of a non-terminal
// execution_error sent when a node blocks a branch.
const ExceptionExecutionBlocked = "ExecutionBlocked"

// ExecutionError is "execution_error".
type ExecutionError struct {
	PromptID         string   `json:"prompt_id"`
	NodeID           string   `json:"node_id"`
	NodeType         string   `json:"node_type"`
	Executed         []string `json:"executed"`
	ExceptionMessage string   `json:"exception_message"`
	ExceptionType    string   `json:"exception_type"`
	Traceback        []string `json:"traceback"`
	// CurrentInputs is an object (input name → list of values) or [] for
	// cycle and blocked errors, hence raw.
	CurrentInputs  json.RawMessage `json:"current_inputs"`
	CurrentOutputs []string        `json:"current_outputs"`
	Timestamp      int64           `json:"timestamp,omitempty"`
}

// Blocked reports whether this is an ExecutionBlocked error, after which the
// run continues.
func (e ExecutionError) Blocked() bool { return e.ExceptionType == ExceptionExecutionBlocked }

// ExecutionInterrupted is "execution_interrupted".
type ExecutionInterrupted struct {
	PromptID  string   `json:"prompt_id"`
	NodeID    string   `json:"node_id"`
	NodeType  string   `json:"node_type"`
	Executed  []string `json:"executed"`
	Timestamp int64    `json:"timestamp,omitempty"`
}

// FeatureFlags is the "feature_flags" message (sent by the client first, and
// answered by the server) and the body of GET /features. Numbers decode as
// json.Number (max_upload_size can be a float).
type FeatureFlags map[string]any

// Feature flag keys known to ComfyUI.
const (
	FlagSupportsPreviewMetadata = "supports_preview_metadata"
	FlagMaxUploadSize           = "max_upload_size"
)

// Bool returns the flag as a bool; absent or non-bool values are false.
func (f FeatureFlags) Bool(key string) bool {
	b, _ := f[key].(bool)
	return b
}

// Logs is the "logs" message sent to sockets subscribed with PATCH
// /internal/logs/subscribe. Size is nil when the terminal size did not change.
type Logs struct {
	Entries []LogEntry    `json:"entries"`
	Size    *TerminalSize `json:"size"`
}

// LogEntry is one line of Logs.
type LogEntry struct {
	T string `json:"t"`
	M string `json:"m"`
}

// TerminalSize is the server terminal's size in Logs.
type TerminalSize struct {
	Cols int `json:"cols"`
	Rows int `json:"rows"`
}

// UnknownEvent is a JSON message of a type this package does not know (custom
// nodes invent their own); it is passed on, never dropped.
type UnknownEvent struct {
	Type string
	Data json.RawMessage
}

func (StatusData) EventType() string           { return EventStatus }
func (ExecutionStart) EventType() string       { return EventExecutionStart }
func (ExecutionCached) EventType() string      { return EventExecutionCached }
func (Executing) EventType() string            { return EventExecuting }
func (Progress) EventType() string             { return EventProgress }
func (ProgressState) EventType() string        { return EventProgressState }
func (Executed) EventType() string             { return EventExecuted }
func (ExecutionSuccess) EventType() string     { return EventExecutionSuccess }
func (ExecutionError) EventType() string       { return EventExecutionError }
func (ExecutionInterrupted) EventType() string { return EventExecutionInterrupted }
func (FeatureFlags) EventType() string         { return EventFeatureFlags }
func (Logs) EventType() string                 { return EventLogs }
func (e UnknownEvent) EventType() string       { return e.Type }

// MarshalJSON writes ComfyUI's own flags first, in its order, then the rest
// sorted by key.
func (f FeatureFlags) MarshalJSON() ([]byte, error) {
	if f == nil {
		return []byte("{}"), nil
	}
	rest := make(map[string]json.RawMessage, len(f))
	for k, v := range f {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("feature flag %q: %w", k, err)
		}
		rest[k] = b
	}
	var buf bytes.Buffer
	buf.WriteByte('{')
	for _, k := range [...]string{FlagSupportsPreviewMetadata, FlagMaxUploadSize} {
		if v, ok := rest[k]; ok {
			writeField(&buf, k, v)
			delete(rest, k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(rest)) {
		writeField(&buf, k, rest[k])
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

func writeField(buf *bytes.Buffer, key string, value []byte) {
	if buf.Len() > 1 {
		buf.WriteByte(',')
	}
	k, _ := json.Marshal(key) // a string always marshals
	buf.Write(k)
	buf.WriteByte(':')
	buf.Write(value)
}

// PromptIDOf returns the prompt id that ev names, or "" for events that name
// none (status, type-1 and type-3 frames, the reconnect "executing", unknown
// messages).
func PromptIDOf(ev Event) string {
	switch e := ev.(type) {
	case ExecutionStart:
		return e.PromptID
	case ExecutionCached:
		return e.PromptID
	case Executing:
		return e.PromptID
	case Progress:
		return e.PromptID
	case ProgressState:
		return e.PromptID
	case Executed:
		return e.PromptID
	case ExecutionSuccess:
		return e.PromptID
	case ExecutionError:
		return e.PromptID
	case ExecutionInterrupted:
		return e.PromptID
	case PreviewImageWithMetadata:
		return e.Meta.PromptID
	}
	return ""
}
