package api

import (
	"encoding/json"
	"time"
)

// Event types of a job's stream (GET /v1/jobs/{id}/events): the server's
// job events under their own names, each with the payload documented here.
const (
	EventQueued     = "queued"     // data: EventQueuedData
	EventPosition   = "position"   // data: EventQueuedData (ephemeral)
	EventDispatched = "dispatched" // data: EventDispatchedData
	EventStarted    = "started"    // data: EventDispatchedData
	EventNode       = "node"       // data: EventNodeData (ephemeral)
	EventProgress   = "progress"   // data: Progress (ephemeral)
	EventPreview    = "preview"    // data: EventPreviewData (ephemeral)
	EventOutput     = "output"     // data: Output
	EventRetrying   = "retrying"   // data: EventRetryingData
	EventSucceeded  = "succeeded"  // data: Job (terminal)
	EventFailed     = "failed"     // data: Job (terminal)
	EventCancelled  = "cancelled"  // data: Job (terminal)
)

// TerminalEvent reports whether t ends a job's stream.
func TerminalEvent(t string) bool {
	return t == EventSucceeded || t == EventFailed || t == EventCancelled
}

// Event is one message of a job stream. ID is "seq" for durable events and
// "seq.sub" for ephemeral ones; send it back as Last-Event-ID to resume.
type Event struct {
	ID    string          `json:"id" description:"Resume token: send it back as Last-Event-ID."`
	JobID string          `json:"job_id"`
	Type  string          `json:"type" enum:"queued,position,dispatched,started,node,progress,preview,output,retrying,succeeded,failed,cancelled"`
	Time  time.Time       `json:"time"`
	Data  json.RawMessage `json:"data" description:"Payload by type: see the Event* data types; the terminal events carry the Job."`
}

// EventQueuedData is the payload of queued and position events.
type EventQueuedData struct {
	Position int `json:"position"`
}

// EventDispatchedData names the backend a job went to.
type EventDispatchedData struct {
	Backend string `json:"backend"`
	Attempt int    `json:"attempt"`
}

// EventNodeData says which node started executing.
type EventNodeData struct {
	Node     string `json:"node"`
	NodeType string `json:"node_type,omitempty"`
	Cached   bool   `json:"cached,omitempty"`
}

// EventPreviewData carries a live preview image (base64).
type EventPreviewData struct {
	Node      string `json:"node,omitempty"`
	ImageType string `json:"image_type"`
	Image     []byte `json:"image"`
}

// EventRetryingData says why a job goes back to the queue.
type EventRetryingData struct {
	Attempt int    `json:"attempt"`
	Reason  string `json:"reason"`
}
