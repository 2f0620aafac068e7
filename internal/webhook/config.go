package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/job"
)

// Doer sends one HTTP request: an *http.Client, normally the URL policy's
// (safefetch.Fetcher.NoRedirects), so every dial is checked.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// Jobs reads a job; the progress sender needs it.
type Jobs interface {
	GetJob(ctx context.Context, id string) (*job.Job, error)
}

// Config configures a Worker. Zero values take the documented defaults.
type Config struct {
	// Store is the outbox. Required.
	Store job.WebhookStore
	// Client sends the requests. Required.
	Client Doer
	// CheckURL refuses URLs the policy forbids before any attempt (a
	// refused URL ends the message). Default: none (the Client's dialer
	// still checks every address).
	CheckURL func(url string) error
	// Render is a message's data: the job as the REST API shows it, from
	// m.Job. It is called on every attempt and must give the same bytes
	// each time. Required.
	Render func(ctx context.Context, m *job.WebhookMessage) (json.RawMessage, error)
	// Secrets sign every message: the first is the current one, a second
	// the one being rotated out (both signatures are sent). Required.
	Secrets []Secret
	// Owner names this replica in leases. Required.
	Owner string

	// RetryBase is the first retry's delay; each next one doubles, up to
	// MaxBackoff, with ±20% jitter. Default 5s.
	RetryBase time.Duration
	// MaxBackoff caps one retry delay. Default 1h.
	MaxBackoff time.Duration
	// RetryFor is how long a message is retried, from its event (or its
	// redelivery); then it is given up. Default 24h.
	RetryFor time.Duration
	// Timeout bounds one attempt, answer included. Default 10s.
	Timeout time.Duration
	// Concurrency bounds attempts in flight. Default 16.
	Concurrency int
	// PerHost bounds attempts in flight to one destination host, so a
	// slow receiver takes at most this many of the Concurrency slots.
	// Default 2.
	PerHost int
	// PollInterval is how often the outbox is looked at without a signal
	// (messages other replicas queued, leases that lapsed). Default 1s.
	PollInterval time.Duration
	// LeaseFor is how long a claim holds. Default: long enough for every
	// claimed message to be tried one after another on its host, plus a
	// minute.
	LeaseFor time.Duration
	// MaxResponseBytes bounds how much of an answer is read. Default 4 KiB.
	MaxResponseBytes int64

	// Hub, when set, is followed for job.progress (see the package doc),
	// with Jobs to read the jobs. Default nil: no job.progress is sent.
	Hub  *events.Hub
	Jobs Jobs
	// ProgressInterval is the least time between two job.progress
	// messages of one job. Default 1s.
	ProgressInterval time.Duration

	// Clock defaults to the wall clock; Rand (for jitter, in [0,1)) to
	// math/rand/v2.
	Clock Clock
	Rand  func() float64
	// Logger defaults to discarding; it never sees secrets or URLs' query
	// strings.
	Logger *slog.Logger
	// Registry gets the delivery metrics. Default: a private registry.
	Registry prometheus.Registerer
}

func (c Config) withDefaults() (Config, error) {
	if c.Store == nil || c.Client == nil || c.Render == nil || len(c.Secrets) == 0 || c.Owner == "" {
		return c, errors.New("webhook: Store, Client, Render, Secrets and Owner are required")
	}
	if c.Hub != nil && c.Jobs == nil {
		return c, errors.New("webhook: Hub needs Jobs")
	}
	c.RetryBase = or(c.RetryBase, 5*time.Second)
	c.MaxBackoff = or(c.MaxBackoff, time.Hour)
	c.RetryFor = or(c.RetryFor, 24*time.Hour)
	c.Timeout = or(c.Timeout, 10*time.Second)
	c.Concurrency = or(c.Concurrency, 16)
	c.PerHost = or(c.PerHost, 2)
	c.PollInterval = or(c.PollInterval, time.Second)
	c.LeaseFor = or(c.LeaseFor, time.Minute+c.Timeout*time.Duration((c.Concurrency+c.PerHost-1)/c.PerHost+1))
	c.MaxResponseBytes = or(c.MaxResponseBytes, 4<<10)
	c.ProgressInterval = or(c.ProgressInterval, time.Second)
	if c.Clock == nil {
		c.Clock = realClock{}
	}
	if c.Rand == nil {
		c.Rand = rand.Float64
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
	}
	return c, nil
}

func or[T int | int64 | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// backoff is the delay before retry n (n ≥ 1): RetryBase·2^(n-1), capped
// at MaxBackoff, ±20% so that receivers coming back are not hit by every
// message at once.
func (c Config) backoff(n int) time.Duration {
	d := c.MaxBackoff
	if n < 40 {
		if e := c.RetryBase << (n - 1); e > 0 && e < d {
			d = e
		}
	}
	return time.Duration(float64(d) * (0.8 + 0.4*c.Rand()))
}
