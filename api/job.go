package api

import (
	"encoding/json"
	"time"
)

// JobState is the life-cycle state of a job as callers see it.
type JobState string

// The job states. A job moves queued → dispatched → running → one of the
// three terminal states; retrying sits between attempts.
const (
	StateQueued     JobState = "queued"
	StateDispatched JobState = "dispatched"
	StateRunning    JobState = "running"
	StateRetrying   JobState = "retrying"
	StateSucceeded  JobState = "succeeded"
	StateFailed     JobState = "failed"
	StateCancelled  JobState = "cancelled"
)

// Enum lists the states; the OpenAPI generator reads it.
func (JobState) Enum() []any {
	return []any{StateQueued, StateDispatched, StateRunning, StateRetrying, StateSucceeded, StateFailed, StateCancelled}
}

// Terminal reports whether no further change can happen to a job in s.
func (s JobState) Terminal() bool {
	return s == StateSucceeded || s == StateFailed || s == StateCancelled
}

// SubmitJobRequest is the body of POST /v1/jobs. Exactly one of Workflow and
// Prompt is set.
type SubmitJobRequest struct {
	// Workflow names a stored workflow; Params fills its parameters.
	Workflow string `json:"workflow,omitempty" pattern:"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$" description:"Name of a stored workflow."`
	// Version pins a workflow version (content hash); empty means latest.
	Version string `json:"version,omitempty" description:"Workflow version (content hash); latest when empty."`
	// Params maps parameter names to values (see the workflow's schema).
	Params map[string]any `json:"params,omitempty" description:"Parameter values by name, checked against the workflow's JSON Schema."`
	// Prompt is a raw ComfyUI API-format graph, used instead of Workflow.
	Prompt json.RawMessage `json:"prompt,omitempty" description:"A raw ComfyUI API-format graph (instead of workflow)."`
	// Overrides sets node inputs directly: {node_id: {"inputs": {...}}}.
	Overrides map[string]NodeOverride `json:"overrides,omitempty" description:"Direct input overrides by node id."`
	// Priority orders the queue: higher runs first. Default 0.
	Priority int `json:"priority,omitempty" minimum:"-100" maximum:"100" description:"Higher runs first; default 0, range -100..100."`
	// Webhook is told when the job ends: a URL, or {url, events}.
	Webhook *WebhookSpec `json:"webhook,omitempty" description:"Signed (Standard Webhooks), retried for hours: a URL, or {url, events} to choose the message types. See the webhooks section for the body."`
	// Outputs say how the outputs are delivered (format, inline).
	Outputs *OutputOptions `json:"outputs,omitempty"`
}

// RunWorkflowRequest is the body of POST /v1/workflows/{name}/jobs: a
// SubmitJobRequest for the workflow the path names. The body may be empty
// (every parameter at its default).
type RunWorkflowRequest struct {
	Version   string                  `json:"version,omitempty" description:"Workflow version (content hash); latest when empty."`
	Params    map[string]any          `json:"params,omitempty" description:"Parameter values by name, checked against the workflow's JSON Schema."`
	Overrides map[string]NodeOverride `json:"overrides,omitempty" description:"Direct input overrides by node id."`
	Priority  int                     `json:"priority,omitempty" minimum:"-100" maximum:"100" description:"Higher runs first; default 0, range -100..100."`
	Webhook   *WebhookSpec            `json:"webhook,omitempty" description:"Signed (Standard Webhooks), retried for hours: a URL, or {url, events}."`
	Outputs   *OutputOptions          `json:"outputs,omitempty"`
}

// Submission is the SubmitJobRequest that runs workflow name with r.
func (r RunWorkflowRequest) Submission(name string) SubmitJobRequest {
	return SubmitJobRequest{Workflow: name, Version: r.Version, Params: r.Params, Overrides: r.Overrides,
		Priority: r.Priority, Webhook: r.Webhook, Outputs: r.Outputs}
}

// NodeOverride sets inputs of one node.
type NodeOverride struct {
	Inputs map[string]any `json:"inputs"`
}

// Job is a unit of work as callers see it.
type Job struct {
	ID              string          `json:"id" description:"Job id; also the ComfyUI prompt_id."`
	State           JobState        `json:"state"`
	Workflow        string          `json:"workflow,omitempty"`
	WorkflowVersion string          `json:"workflow_version,omitempty"`
	Params          json.RawMessage `json:"params,omitempty"`
	Priority        int             `json:"priority"`
	QueuePosition   *int            `json:"queue_position,omitempty" description:"0-based position while queued."`
	Progress        *Progress       `json:"progress,omitempty"`
	Outputs         []Output        `json:"outputs"`
	Error           *JobError       `json:"error,omitempty"`
	Attempts        int             `json:"attempts"`
	Backend         string          `json:"backend,omitempty"`
	CreatedAt       time.Time       `json:"created_at"`
	DispatchedAt    *time.Time      `json:"dispatched_at,omitempty"`
	StartedAt       *time.Time      `json:"started_at,omitempty"`
	FinishedAt      *time.Time      `json:"finished_at,omitempty"`
	CancelRequested bool            `json:"cancel_requested,omitempty"`
	InlineError     string          `json:"inline_error,omitempty" description:"Why the outputs are not inline although asked for (over the inline limit); download them from their url."`
	Webhook         string          `json:"webhook,omitempty" description:"Where the job's webhook goes, without the query string; its deliveries are at /v1/jobs/{id}/deliveries."`
}

// Progress tells how far a running job is.
type Progress struct {
	Node       string  `json:"node,omitempty" description:"Node now executing."`
	NodeType   string  `json:"node_type,omitempty"`
	Value      float64 `json:"value" description:"Step value of the current node."`
	Max        float64 `json:"max" description:"Step maximum of the current node."`
	Fraction   float64 `json:"fraction" description:"Overall fraction done, 0..1: the share of the job's estimated run time that has passed, each node weighted by the time its class took in earlier runs on this fleet (or by an estimate in which sampler steps dominate), nodes served from ComfyUI's cache weighing nothing. It never decreases within an attempt and reaches 1 only when the job succeeds."`
	NodesDone  int     `json:"nodes_done"`
	NodesTotal int     `json:"nodes_total"`
}

// Output is one result of a job: a stored file, or text.
type Output struct {
	URL         string `json:"url,omitempty" description:"Where to download the file."`
	ArtifactID  string `json:"artifact_id,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	Size        int64  `json:"size,omitempty"`
	NodeID      string `json:"node_id"`
	Kind        string `json:"kind" description:"images, gifs, video, audio, text, …"`
	Filename    string `json:"filename,omitempty"`
	Text        string `json:"text,omitempty"`
	Data        []byte `json:"data,omitempty" description:"The file's bytes, base64, when the job asked for inline outputs."`
}

// JobError says why a job failed.
type JobError struct {
	Type      string   `json:"type" description:"Error type, e.g. execution_error, validation_error, backend_lost."`
	Message   string   `json:"message"`
	NodeID    string   `json:"node_id,omitempty"`
	NodeType  string   `json:"node_type,omitempty"`
	Traceback []string `json:"traceback,omitempty"`
	// Attempts lists what happened on each attempt, oldest first.
	Attempts []AttemptError `json:"attempts,omitempty"`
}

// AttemptError is the outcome of one failed attempt.
type AttemptError struct {
	Backend string `json:"backend"`
	Message string `json:"message"`
}

// JobList is one page of jobs.
type JobList struct {
	Jobs       []Job  `json:"jobs"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// Bounds of SubmitJobRequest.Priority.
const (
	MinPriority = -100
	MaxPriority = 100
)
