package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/swaggest/jsonschema-go"
)

// Webhook message types (the "type" of a delivery's body). The terminal
// ones are sent by default; a webhook lists job.started and job.progress
// in Events to get them too.
const (
	WebhookSucceeded = "job.succeeded"
	WebhookFailed    = "job.failed"
	WebhookCancelled = "job.cancelled"
	WebhookStarted   = "job.started"
	WebhookProgress  = "job.progress"
)

// WebhookSpec says where a job's webhook goes and what it is told. In a
// request it is either a URL string or {"url": ..., "events": [...]}.
type WebhookSpec struct {
	URL string `json:"url" description:"Absolute http(s) URL that receives the signed POSTs."`
	// Events are the message types sent; default the three terminal ones.
	Events []string `json:"events,omitempty" description:"Types to send: job.succeeded, job.failed, job.cancelled (the default), job.started, job.progress." items.enum:"job.succeeded,job.failed,job.cancelled,job.started,job.progress"`
}

// UnmarshalJSON accepts a URL string or the object form.
func (w *WebhookSpec) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		*w = WebhookSpec{}
		return json.Unmarshal(b, &w.URL)
	}
	if len(b) == 0 || b[0] != '{' {
		return errors.New("webhook: want a URL string or an object {url, events}")
	}
	type plain WebhookSpec
	var p plain
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	*w = WebhookSpec(p)
	return nil
}

var _ jsonschema.OneOfExposer = WebhookSpec{}

// JSONSchemaOneOf documents the two request forms.
func (WebhookSpec) JSONSchemaOneOf() []any {
	type webhookObject struct {
		URL    string   `json:"url" required:"true" format:"uri" description:"Absolute http(s) URL that receives the signed POSTs."`
		Events []string `json:"events,omitempty" description:"Types to send; default job.succeeded, job.failed, job.cancelled." items.enum:"job.succeeded,job.failed,job.cancelled,job.started,job.progress"`
	}
	return []any{"", webhookObject{}}
}

// OutputOptions say how a job's outputs are delivered.
type OutputOptions struct {
	Format  string `json:"format,omitempty" enum:"png,jpeg,webp" description:"Re-encode image outputs when they are stored (images up to 16 megapixels; larger ones are kept as written). Default: as the workflow wrote them."`
	Quality int    `json:"quality,omitempty" minimum:"1" maximum:"100" description:"JPEG quality, default 90 (png and webp are lossless)."`
	Inline  bool   `json:"inline,omitempty" description:"Put each output's bytes (base64, in data) in the ?wait= answer and in the job.succeeded webhook when they total at most 8 MiB; over that, inline_error says so and the outputs are downloaded from their url."`
}

// Delivery is one webhook message of a job with every attempt at it.
type Delivery struct {
	ID            string            `json:"id" description:"The message's webhook-id: the same on every attempt and on redelivery."`
	Type          string            `json:"type" enum:"job.succeeded,job.failed,job.cancelled,job.started"`
	URL           string            `json:"url" description:"Where it goes, without the query string."`
	State         string            `json:"state" enum:"pending,delivered,failed" description:"pending: waiting for (or in) an attempt; delivered: a 2xx answer; failed: given up (410 Gone, a refused URL, or the retry window ran out)."`
	CreatedAt     time.Time         `json:"created_at" description:"The event's time; the body's timestamp."`
	NextAttemptAt *time.Time        `json:"next_attempt_at,omitempty"`
	EndedAt       *time.Time        `json:"ended_at,omitempty"`
	Attempts      []DeliveryAttempt `json:"attempts"`
}

// DeliveryAttempt is one try at delivering a message.
type DeliveryAttempt struct {
	N             int        `json:"n"`
	At            time.Time  `json:"at"`
	DurationMS    float64    `json:"duration_ms"`
	StatusCode    int        `json:"status_code,omitempty" description:"The receiver's answer; absent when there was none."`
	Error         string     `json:"error,omitempty" description:"Why there was no answer: a timeout, a refused address, a network error."`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty" description:"When the message is tried again; absent when this attempt ended it."`
}

// DeliveryList is a job's webhook messages, oldest first.
type DeliveryList struct {
	Deliveries []Delivery `json:"deliveries"`
}

// RedeliverRequest is the optional body of POST /v1/jobs/{id}/deliveries/redeliver.
type RedeliverRequest struct {
	MessageID string `json:"message_id,omitempty" description:"The message to send again; default the job's latest."`
}

// WebhookSecret is the secret that signs webhooks (admins only).
type WebhookSecret struct {
	Secret    string `json:"secret" description:"whsec_<base64>: give it to a Standard Webhooks verifier."`
	Generated bool   `json:"generated" description:"true when the server made it (no --webhook-secret) and keeps it in its database."`
}

// WebhookMessage is the body of every webhook POST (Standard Webhooks).
// Headers: webhook-id (the message id, the same on retries), webhook-
// timestamp (Unix seconds of the attempt) and webhook-signature ("v1,"
// and the base64 HMAC-SHA256 of "id.timestamp.body"; one per secret,
// space-separated).
type WebhookMessage struct {
	Type      string    `json:"type" enum:"job.succeeded,job.failed,job.cancelled,job.started,job.progress"`
	Timestamp time.Time `json:"timestamp" description:"When the event happened."`
	Data      Job       `json:"data" description:"The job as GET /v1/jobs/{id} shows it (outputs inline when asked for)."`
}

// PrepareJSONSchema leaves only the oneOf: the Go struct is the decoded
// form, not a third wire form.
func (WebhookSpec) PrepareJSONSchema(s *jsonschema.Schema) error {
	s.Type, s.Properties = nil, nil
	return nil
}
