package job

import "encoding/json"

// Event types: what happens to a job, in the domain's words. The durable
// ones are stored as Event records (in the job's event log, numbered by the
// store); the ephemeral ones only travel through the event hub.
//
// Surfaces render them: the REST API under the same names (package api
// documents the wire), the ComfyUI-compatible surface as ComfyUI's own
// WebSocket messages.
const (
	EventQueued     = "queued"     // durable; data: QueuedData
	EventPosition   = "position"   // ephemeral; data: QueuedData
	EventDispatched = "dispatched" // durable; data: DispatchedData
	EventStarted    = "started"    // durable; data: DispatchedData
	EventNode       = "node"       // ephemeral; data: NodeData
	EventProgress   = "progress"   // ephemeral; data: Progress
	EventPreview    = "preview"    // ephemeral; data: PreviewData
	EventOutput     = "output"     // durable; data: OutputData
	EventRetrying   = "retrying"   // durable; data: RetryingData
	EventSucceeded  = "succeeded"  // durable, terminal; data: {}
	EventFailed     = "failed"     // durable, terminal; data: {}
	EventCancelled  = "cancelled"  // durable, terminal; data: {}
)

// EventTypes lists every event type in life-cycle order.
func EventTypes() []string {
	return []string{EventQueued, EventPosition, EventDispatched, EventStarted,
		EventNode, EventProgress, EventPreview, EventOutput, EventRetrying,
		EventSucceeded, EventFailed, EventCancelled}
}

// TerminalEvent reports whether an event of type t ends a job's stream.
// Terminal events carry no payload of their own ({}): the job record, as
// stored with the event, says how the job ended (its outputs, its error),
// and a surface that shows the end reads it from there.
func TerminalEvent(t string) bool {
	return t == EventSucceeded || t == EventFailed || t == EventCancelled
}

// The payloads below are stored in the durable event log as JSON, so their
// encoding is a storage format: a field may be added, never renamed.

// QueuedData is the payload of queued and position events.
type QueuedData struct {
	// Position counts the dispatchable jobs ahead (0 = next).
	Position int `json:"position"`
}

// DispatchedData names the backend an attempt went to: the payload of
// dispatched and started events.
type DispatchedData struct {
	Backend string `json:"backend"`
	Attempt int    `json:"attempt"`
}

// NodeData says which node started executing.
type NodeData struct {
	Node     string `json:"node"`
	NodeType string `json:"node_type,omitempty"`
	Cached   bool   `json:"cached,omitempty"`
}

// PreviewData carries a live preview image (base64 in JSON).
type PreviewData struct {
	Node      string `json:"node,omitempty"`
	ImageType string `json:"image_type"`
	Image     []byte `json:"image"`
}

// OutputData is one output of a succeeded run, announced before the
// terminal event. It is the caller-facing part of an Output: where the
// backend wrote the file (Subfolder, Type) stays in the job record.
type OutputData struct {
	ArtifactID  string `json:"artifact_id,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	Size        int64  `json:"size,omitempty"`
	NodeID      string `json:"node_id"`
	Kind        string `json:"kind"`
	Filename    string `json:"filename,omitempty"`
	Text        string `json:"text,omitempty"`
}

// OutputDataOf is the payload of the output event announcing o.
func OutputDataOf(o Output) OutputData {
	return OutputData{
		ArtifactID: o.ArtifactID, ContentType: o.ContentType, Size: o.Size,
		NodeID: o.NodeID, Kind: o.Kind, Filename: o.Filename, Text: o.Text,
	}
}

// RetryingData says why a job goes back to the queue.
type RetryingData struct {
	Attempt int    `json:"attempt"`
	Reason  string `json:"reason"`
}

// NewEvent is a durable event of type typ with data as its payload, ready
// for the store to number. A nil data is the empty payload of terminal
// events.
func NewEvent(typ string, data any) *Event {
	return &Event{Type: typ, Data: EncodeData(data)}
}

// EncodeData is the stored and published form of an event payload. The
// payload types above always encode; anything that does not becomes {}.
func EncodeData(data any) json.RawMessage {
	if data == nil {
		return json.RawMessage("{}")
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return json.RawMessage("{}")
	}
	return raw
}

// EndEvent is the terminal event type of a job that ended in state s, ""
// when s is not terminal.
func EndEvent(s State) string {
	switch s {
	case StateSucceeded:
		return EventSucceeded
	case StateFailed:
		return EventFailed
	case StateCancelled:
		return EventCancelled
	}
	return ""
}
