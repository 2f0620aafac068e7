package job

import (
	"encoding/json"
	"strings"
	"time"
)

// Sources: the surface a job was submitted through.
const (
	SourceREST  = "rest"  // native REST API
	SourceComfy = "comfy" // ComfyUI-compatible surface (POST /prompt)
	SourceFlask = "flask" // Flask-service-compatible surface
)

// Job is the unit users see: one run of one graph. It is a plain record; the
// REST wire types are separate. Zero times mean "not yet".
//
// Store-owned fields (set by the store, never by callers): Seq, EventSeq,
// CreatedAt (defaulted at creation) and UpdatedAt.
type Job struct {
	// ID is a UUID v4 string and also the ComfyUI prompt_id the backend sees.
	ID string `json:"id"`
	// Seq is the store's insertion order, strictly increasing: FIFO order
	// within a priority and the key of list cursors.
	Seq int64 `json:"seq"`
	// Owner is the API key id that submitted the job, "" when auth is off.
	Owner string `json:"owner,omitempty"`
	// Source is the surface the job came through: SourceREST, SourceComfy, SourceFlask.
	Source string `json:"source,omitempty"`
	// Workflow names the stored workflow the job ran, "" for a raw graph.
	Workflow string `json:"workflow,omitempty"`
	// WorkflowVersion is the content hash of the workflow version it ran.
	WorkflowVersion string `json:"workflow_version,omitempty"`
	// Params are the parameter values the caller gave, as JSON.
	Params json.RawMessage `json:"params,omitempty"`
	// Graph is the resolved API-format graph sent to ComfyUI.
	Graph json.RawMessage `json:"graph,omitempty"`
	// OutputNodes are the node ids whose outputs are collected.
	OutputNodes []string `json:"output_nodes,omitempty"`
	// ExtraData is ComfyUI's extra_data (may hold secrets: never echo it).
	ExtraData json.RawMessage `json:"extra_data,omitempty"`
	// ClientID is the ComfyUI-compatible client id, "" if none.
	ClientID string `json:"client_id,omitempty"`
	// Priority orders the queue: higher first, FIFO (Seq) within a priority.
	Priority int   `json:"priority"`
	State    State `json:"state"`
	// Attempts counts dispatches to a backend (see TransitionTo).
	Attempts    int       `json:"attempts"`
	MaxAttempts int       `json:"max_attempts"`
	AttemptLog  []Attempt `json:"attempt_log,omitempty"`
	// Backend is the id of the current or last backend.
	Backend  string   `json:"backend,omitempty"`
	Progress Progress `json:"progress,omitzero"`
	Outputs  []Output `json:"outputs,omitempty"`
	Error    *Error   `json:"error,omitempty"`
	// IdempotencyKey, with Owner, makes a resubmission return the first job.
	IdempotencyKey string `json:"idempotency_key,omitempty"`
	// RequestHash identifies the request body an IdempotencyKey was used with.
	RequestHash string `json:"request_hash,omitempty"`
	// CancelRequested records a cancel asked for while the job is on a backend.
	CancelRequested bool `json:"cancel_requested,omitempty"`
	// Webhook is the URL told when the job ends, "" for none.
	Webhook string `json:"webhook,omitempty"`
	// WebhookEvents are the webhook message types (WebhookTypes) the
	// webhook is sent; empty means DefaultWebhookEvents.
	WebhookEvents []string `json:"webhook_events,omitempty"`
	// OutputOptions say how the outputs reach the caller (format, inline).
	OutputOptions OutputOptions `json:"output_options,omitzero"`
	// Number is ComfyUI's queue "number" shown on the compatible surface.
	Number float64 `json:"number,omitempty"`
	// Comfy is what the ComfyUI-compatible surface (internal/comfyapi) keeps
	// about a job: the prompt_id and number it showed, the upload names the
	// client used. Opaque JSON to everyone else; empty for other jobs.
	Comfy json.RawMessage `json:"comfy,omitempty"`
	// ComfyHistory is the ComfyUI history entry of the attempt that ended
	// the job (outputs, status.messages, meta), as the backend's /history
	// gave it or as its socket told it; written when the job is finalized,
	// empty if no backend ran it. It names the backend's files, not the
	// names comfygate shows, and may hold the backend's client id.
	ComfyHistory json.RawMessage `json:"comfy_history,omitempty"`
	// EventSeq is the Seq of the job's last durable event, 0 if none.
	EventSeq     int64     `json:"event_seq"`
	CreatedAt    time.Time `json:"created_at"`
	DispatchedAt time.Time `json:"dispatched_at,omitzero"`
	StartedAt    time.Time `json:"started_at,omitzero"`
	FinishedAt   time.Time `json:"finished_at,omitzero"`
	UpdatedAt    time.Time `json:"updated_at"`
	// LeaseOwner is the replica that holds the job while dispatched or
	// running, and LeaseUntil when that claim lapses unless renewed.
	LeaseOwner string    `json:"lease_owner,omitempty"`
	LeaseUntil time.Time `json:"lease_until,omitzero"`
}

// Attempt is one dispatch of a job to a backend.
type Attempt struct {
	Backend   string    `json:"backend"`
	StartedAt time.Time `json:"started_at"`
	EndedAt   time.Time `json:"ended_at,omitzero"`
	// Outcome is "" while in progress, then "succeeded", "failed",
	// "cancelled", or a caller's refinement such as "backend_lost".
	Outcome string `json:"outcome,omitempty"`
	Error   string `json:"error,omitempty"`
}

// Progress tells how far a running job is.
type Progress struct {
	Node     string  `json:"node,omitempty"`      // node now executing
	NodeType string  `json:"node_type,omitempty"` // its class_type
	Value    float64 `json:"value"`               // step value of the current node
	Max      float64 `json:"max"`                 // step maximum of the current node
	// Fraction is the overall fraction done, 0..1: the share of the run's
	// estimated time that has passed (internal/fleet weighs each node by
	// its measured or estimated duration). It never decreases within an
	// attempt and is 1 only once the job succeeded.
	Fraction   float64 `json:"fraction"`
	NodesDone  int     `json:"nodes_done"`
	NodesTotal int     `json:"nodes_total"`
}

// Output is one result of a job: a stored file or a text.
type Output struct {
	ArtifactID string `json:"artifact_id,omitempty"`
	NodeID     string `json:"node_id"`
	// Kind is the key of ComfyUI's node UI output: "images", "gifs",
	// "video", "audio", "text", …
	Kind      string `json:"kind"`
	Filename  string `json:"filename,omitempty"`
	Subfolder string `json:"subfolder,omitempty"`
	// Type is ComfyUI's folder type: "output" or "temp".
	Type        string `json:"type,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	Size        int64  `json:"size,omitempty"`
	Text        string `json:"text,omitempty"`
}

// Error says why a job failed. It is also a Go error.
type Error struct {
	// Type classifies the failure: ComfyUI's exception type or validation
	// error type, or one of ours such as "backend_lost".
	Type      string   `json:"type"`
	Message   string   `json:"message"`
	NodeID    string   `json:"node_id,omitempty"`
	NodeType  string   `json:"node_type,omitempty"`
	Traceback []string `json:"traceback,omitempty"`
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Type)
	if e.NodeID != "" {
		b.WriteString(" in node " + e.NodeID)
		if e.NodeType != "" {
			b.WriteString(" (" + e.NodeType + ")")
		}
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}
