package job

import (
	"net/url"
	"slices"
	"strings"
)

// Webhook message types: what a job's webhook is told, as the "type" of a
// Standard Webhooks message. The three terminal ones are sent by default;
// started and progress only to webhooks that list them.
const (
	WebhookSucceeded = "job.succeeded"
	WebhookFailed    = "job.failed"
	WebhookCancelled = "job.cancelled"
	WebhookStarted   = "job.started"  // opt-in; durable (one per attempt that starts)
	WebhookProgress  = "job.progress" // opt-in; ephemeral: coalesced, best effort, never stored
)

// WebhookTypes lists every webhook message type.
func WebhookTypes() []string {
	return []string{WebhookSucceeded, WebhookFailed, WebhookCancelled, WebhookStarted, WebhookProgress}
}

// DefaultWebhookEvents are the types a webhook that names none is sent.
func DefaultWebhookEvents() []string {
	return []string{WebhookSucceeded, WebhookFailed, WebhookCancelled}
}

// WebhookType is the webhook message type that tells of an event of type
// eventType, "" when no webhook is told of such events.
func WebhookType(eventType string) string {
	switch eventType {
	case EventSucceeded:
		return WebhookSucceeded
	case EventFailed:
		return WebhookFailed
	case EventCancelled:
		return WebhookCancelled
	case EventStarted:
		return WebhookStarted
	case EventProgress:
		return WebhookProgress
	}
	return ""
}

// ValidWebhookType reports whether t is one of WebhookTypes.
func ValidWebhookType(t string) bool { return slices.Contains(WebhookTypes(), t) }

// WantsWebhook reports whether j's webhook is told of events of type
// eventType: j has a webhook URL, and the event's webhook type is among
// j.WebhookEvents (DefaultWebhookEvents when that is empty).
func (j *Job) WantsWebhook(eventType string) bool {
	t := WebhookType(eventType)
	if j.Webhook == "" || t == "" {
		return false
	}
	events := j.WebhookEvents
	if len(events) == 0 {
		events = DefaultWebhookEvents()
	}
	return slices.Contains(events, t)
}

// WebhookHost is the destination host of a webhook URL, lowercase, as
// deliveries are limited per host; "" when raw is not a URL with a host.
func WebhookHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Hostname())
}

// OutputOptions say how a job's outputs reach the caller.
type OutputOptions struct {
	// Format re-encodes image outputs when they are collected: "png",
	// "jpeg" or "webp"; "" keeps what the backend wrote.
	Format string `json:"format,omitempty"`
	// Quality is the JPEG quality, 1..100; 0 is the default (90). PNG
	// and WebP are stored lossless.
	Quality int `json:"quality,omitempty"`
	// Inline asks for the outputs' bytes, base64, in the ?wait= answer and
	// the job.succeeded webhook (within the server's inline limit).
	Inline bool `json:"inline,omitempty"`
}

// Output formats of OutputOptions.Format.
const (
	FormatPNG  = "png"
	FormatJPEG = "jpeg"
	FormatWebP = "webp"
)

// ContentType is the media type of the format, "" for the empty format.
func (o OutputOptions) ContentType() string {
	switch o.Format {
	case FormatPNG:
		return "image/png"
	case FormatJPEG:
		return "image/jpeg"
	case FormatWebP:
		return "image/webp"
	}
	return ""
}
