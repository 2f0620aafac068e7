package job

import (
	"context"
	"time"
)

// States of a webhook message.
const (
	DeliveryPending   = "pending"   // waiting for its next attempt (or in one)
	DeliveryDelivered = "delivered" // a 2xx answer was received
	DeliveryFailed    = "failed"    // given up: 410 Gone, a refused URL, or the retry window ran out
)

// WebhookMessage is one message of the webhook outbox: what a job's webhook
// is told of one durable event. Its ID is the Standard Webhooks
// webhook-id, the same on every attempt and on a redelivery.
type WebhookMessage struct {
	ID    string // "msg_" and 32 hex digits
	Seq   int64  // outbox order, strictly increasing
	JobID string
	Owner string
	// EventSeq is the durable event the message tells of.
	EventSeq int64
	Type     string // a WebhookTypes value
	URL      string
	Host     string // WebhookHost(URL)
	// Job is the job as the event left it, without Graph, ExtraData, Comfy
	// and ComfyHistory (large, and ExtraData may hold credentials): what
	// the message's data is rendered from.
	Job      *Job
	State    string // DeliveryPending, DeliveryDelivered or DeliveryFailed
	Attempts int
	// CreatedAt is the event's time: the payload's timestamp.
	CreatedAt time.Time
	// RetryFrom starts the retry window: CreatedAt, or the last
	// redelivery.
	RetryFrom time.Time
	// NextAttemptAt is when a pending message is due; zero once it ended.
	NextAttemptAt time.Time
	// EndedAt is when it was delivered or given up.
	EndedAt time.Time
	// LeaseOwner holds a claimed message until LeaseUntil.
	LeaseOwner string
	LeaseUntil time.Time
}

// DeliveryAttempt is one try at delivering a message.
type DeliveryAttempt struct {
	MessageID string
	JobID     string
	N         int // 1, 2, … per message
	At        time.Time
	Duration  time.Duration // microsecond precision
	// StatusCode is the receiver's answer, 0 when there was none.
	StatusCode int
	// Error says why there was no answer (timeout, refused address), "".
	Error string
	// NextAttemptAt is when the message is tried again, zero if not.
	NextAttemptAt time.Time
}

// WebhookClaim asks ClaimWebhooks for due messages.
type WebhookClaim struct {
	// Owner names the claiming replica; the lease is held in its name.
	Owner string
	// Now: messages with NextAttemptAt at or before it are due.
	Now time.Time
	// LeaseUntil is when the claim lapses unless the attempt is recorded.
	LeaseUntil time.Time
	// Limit bounds the messages returned (at least 1).
	Limit int
	// SkipHosts are destination hosts not to claim for (they are busy).
	SkipHosts []string
}

// MaxRedeliver bounds the messages RedeliverWebhooks moves at once.
const MaxRedeliver = 100

// WebhookStore is the webhook outbox. The SQL stores implement it next to
// Store; the rules of Store (ctx, fresh copies, errors, microsecond UTC
// times) apply.
//
// The outbox rule: whenever the store appends a durable event (through
// CreateJobWithEvent, UpdateJobWithEvent, UpdateJobWithEvents or
// AppendEvent) for which the job WantsWebhook, it inserts a pending
// WebhookMessage in the same transaction, due at once. So a job that ends
// has its webhook message stored by the very commit that ends it, whichever
// path ended it, and a crash cannot come between the two.
type WebhookStore interface {
	// ClaimWebhooks leases up to c.Limit due messages to c.Owner until
	// c.LeaseUntil and returns them in Seq order. A message is due when it
	// is pending, its NextAttemptAt is at or before c.Now, it is not leased
	// (or its lease lapsed at or before c.Now), its Host is not in
	// c.SkipHosts, and no earlier message of its job is pending: a job's
	// messages go one at a time, in order. Concurrent claims (also from
	// other replicas) never return the same message twice while a lease
	// holds.
	ClaimWebhooks(ctx context.Context, c WebhookClaim) ([]*WebhookMessage, error)

	// RecordWebhookAttempt stores attempt a of message a.MessageID and
	// moves the message to state: pending (due again at a.NextAttemptAt),
	// delivered or failed (ended at a.At + a.Duration). The lease is
	// released. If owner no longer holds the lease (it lapsed and another
	// replica claimed the message), the attempt is stored but the message
	// is left alone and ErrConflict is returned. Unknown message:
	// ErrNotFound. a.N is set by the store (the message's Attempts + 1).
	RecordWebhookAttempt(ctx context.Context, owner string, a DeliveryAttempt, state string) error

	// ListWebhookMessages returns the messages of jobID in Seq order,
	// empty when there are none.
	ListWebhookMessages(ctx context.Context, jobID string) ([]*WebhookMessage, error)

	// ListDeliveryAttempts returns the attempts of jobID's messages, by
	// message (Seq order), then N.
	ListDeliveryAttempts(ctx context.Context, jobID string) ([]DeliveryAttempt, error)

	// RedeliverWebhooks makes messages of jobID pending again, due at now
	// and with a retry window starting at now, keeping their IDs: the one
	// named messageID, or with messageID "" the job's latest message. It
	// returns them as stored. ErrNotFound when there is no such message.
	RedeliverWebhooks(ctx context.Context, jobID, messageID string, now time.Time) ([]*WebhookMessage, error)

	// ReleaseWebhooks lifts every lease owner holds and returns how many:
	// a replica calls it as it starts, since nothing of its previous life
	// is still in flight, so a crash does not hold its messages back until
	// their leases lapse.
	ReleaseWebhooks(ctx context.Context, owner string) (int, error)

	// NextWebhookDue returns the earliest time a pending message becomes
	// due (its NextAttemptAt, or its lease's end if later); ok is false when
	// none is pending.
	NextWebhookDue(ctx context.Context) (due time.Time, ok bool, err error)

	// WebhookSecret returns the stored signing secret. If none is stored
	// it stores gen's, unless another caller stored one first: every
	// replica of one database signs with the same secret.
	WebhookSecret(ctx context.Context, gen func() (string, error)) (string, error)

	// WebhookQueued receives a value (coalesced) after a commit of this
	// store that inserted a webhook message, so a delivery worker need not
	// poll to learn of new work.
	WebhookQueued() <-chan struct{}
}
