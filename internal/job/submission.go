package job

import "encoding/json"

// Priorities a submission may ask for: higher runs first.
const (
	MinPriority = -100
	MaxPriority = 100
)

// Submission is a request to run a job, in the domain's words: what every
// surface (REST, ComfyUI-compatible, Flask-compatible) turns its wire form
// into before it calls the one submit use case (internal/gateway). Fields a
// surface has no use for stay zero.
//
// Source, Owner and ClientID are set by the surface's server code from the
// transport (the route that was called, the API key, the socket the client
// named), never copied from a request body, so a caller cannot pose as
// another surface or owner.
type Submission struct {
	// Source is the surface: SourceREST, SourceComfy or SourceFlask.
	Source string
	// Owner is the caller's API key id, "" when authentication is off.
	Owner string
	// ClientID is the client the job's live messages are for (ComfyUI's
	// client_id), "" for none.
	ClientID string
	// HasClientID is true when the request named a client at all: ComfyUI
	// then targets the prompt's messages at that client (even at "", which
	// matches no socket) instead of broadcasting them.
	HasClientID bool
	// PromptID is the id the caller chose for the job (ComfyUI's
	// prompt_id), "" to have one made. A prompt_id may be reused, as
	// ComfyUI allows: the new job supersedes the previous one of that
	// owner and id (see internal/gateway).
	PromptID string
	// Number is ComfyUI's queue number as the caller is shown it ("3",
	// "-40", or "7.5" for a client's own number), "" for none.
	Number json.Number
	// ExtraData is ComfyUI's extra_data, stored with the job and sent to
	// the backend (it may hold credentials: never echoed).
	ExtraData json.RawMessage

	// What runs: Prompt, an API-format graph; or else the stored workflow
	// named Workflow (at Version, "" for the latest) bound with Params.
	Prompt   json.RawMessage
	Workflow string
	Version  string
	Params   map[string]any
	// Overrides set node inputs directly after binding: node id → input
	// name → value.
	Overrides map[string]map[string]any
	// Outputs, when not nil, are the output nodes to run (ComfyUI's
	// partial_execution_targets); nil runs every output node.
	Outputs []string

	// Webhook is the URL told when the job ends, "" for none, and
	// WebhookEvents the message types it is sent (WebhookTypes; empty for
	// DefaultWebhookEvents).
	Webhook       string
	WebhookEvents []string
	// OutputOptions say how the outputs reach the caller (format, inline).
	OutputOptions OutputOptions
	// IdempotencyKey, with Owner, makes a repeated submission return the
	// first job; RequestHash fingerprints the request it was first used
	// with (a different request under the same key is refused).
	IdempotencyKey string
	RequestHash    string
	// Priority orders the queue, MinPriority to MaxPriority: higher first.
	Priority int
}
