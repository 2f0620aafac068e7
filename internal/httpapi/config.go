package httpapi

import (
	"crypto/sha256"
	"errors"
	"io"
	"log/slog"
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/comfygate/comfygate/internal/inflight"
)

// Config tunes the REST transport. The zero value is usable: each field's
// comment gives its default.
type Config struct {
	// Logger gets request failures (with request ids) and panics.
	// Default: discard.
	Logger *slog.Logger
	// Registry gets the HTTP metrics and is what /metrics serves; pass the
	// process registry so the gateway's and fleet's metrics show too.
	// Default: a new, private registry.
	Registry *prometheus.Registry
	// Now is the clock of the rate limiter. Default: time.Now.
	Now func() time.Time
	// Version is the API version shown in the OpenAPI document. Default "dev".
	Version string

	// APIKeys, when not empty, are required on every /v1 route; the key's
	// ID is the owner of what the request creates. Default: none (auth off,
	// owner "").
	APIKeys []APIKey
	// MetricsKeyHash, when not zero, is the SHA-256 (HashKey) of a key
	// that opens /metrics and nothing else, for a Prometheus scraper.
	// /metrics is open while neither APIKeys nor this is set; otherwise
	// it needs this key or an admin API key. Default: none.
	MetricsKeyHash [sha256.Size]byte
	// AuthDocs requires a key on /docs and /openapi.json. Default false.
	AuthDocs bool

	// RatePerKey is the sustained request rate allowed per key, per second;
	// 0 means unlimited. Default 0.
	RatePerKey float64
	// RateBurst is the burst allowed over RatePerKey.
	// Default max(1, ceil(RatePerKey)).
	RateBurst int
	// MaxInFlightPerKey caps concurrent non-stream requests per key; <0
	// means unlimited. Default 256.
	MaxInFlightPerKey int
	// MaxStreamsPerKey caps open SSE/WebSocket streams per key; <0 means
	// unlimited. Default 10000.
	MaxStreamsPerKey int

	// MaxJSONBytes bounds JSON request bodies (jobs, workflows).
	// Default 8 MiB.
	MaxJSONBytes int64
	// MaxUploadBytes bounds one uploaded file. Default 100 MiB.
	MaxUploadBytes int64
	// InFlight bounds the bytes of JSON bodies each key has in memory at
	// once (see package inflight), shared with the other surfaces.
	// Default nil: no bound beyond MaxJSONBytes a request.
	InFlight *inflight.Limiter
	// MaxWait bounds ?wait= on job routes. Default 10m.
	MaxWait time.Duration

	// Keepalive is the interval of SSE comments and WebSocket pings on
	// idle streams. Default 15s.
	Keepalive time.Duration
	// StreamWriteTimeout bounds one write to a stream client; a client that
	// cannot take an event in this time is dropped (it may resume).
	// Default 30s.
	StreamWriteTimeout time.Duration
	// WSOriginPatterns are the cross-origin hosts allowed to open
	// WebSockets (see websocket.AcceptOptions). Default: same origin only.
	WSOriginPatterns []string
	// Webhooks serves the delivery log, redelivery and the signing
	// secret. Default nil: those routes answer 404.
	Webhooks Webhooks
	// OpenAPICacheTTL is how long /openapi.json is reused before the
	// stored workflows are read again. Default 5s.
	OpenAPICacheTTL time.Duration
}

// DefaultMaxJSONBytes is Config.MaxJSONBytes's default.
const DefaultMaxJSONBytes = 8 << 20

const (
	defaultMaxJSON   = DefaultMaxJSONBytes
	defaultMaxUpload = 100 << 20
	// smallBody bounds bodies of routes that take none.
	smallBody = 64 << 10
	// multipartSlack is room for multipart headers and boundaries around
	// an upload of MaxUploadBytes.
	multipartSlack = 1 << 20
)

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	if c.RateBurst == 0 {
		c.RateBurst = max(1, int(math.Ceil(c.RatePerKey)))
	}
	c.MaxInFlightPerKey = orInt(c.MaxInFlightPerKey, 256)
	c.MaxStreamsPerKey = orInt(c.MaxStreamsPerKey, 10000)
	c.MaxJSONBytes = orInt(c.MaxJSONBytes, defaultMaxJSON)
	c.MaxUploadBytes = orInt(c.MaxUploadBytes, defaultMaxUpload)
	c.MaxWait = orInt(c.MaxWait, 10*time.Minute)
	c.Keepalive = orInt(c.Keepalive, 15*time.Second)
	c.StreamWriteTimeout = orInt(c.StreamWriteTimeout, 30*time.Second)
	c.OpenAPICacheTTL = orInt(c.OpenAPICacheTTL, 5*time.Second)
	return c
}

func (c Config) validate() error {
	switch {
	case c.RatePerKey < 0:
		return errors.New("rate per key must not be negative")
	case c.RateBurst < 0:
		return errors.New("rate burst must not be negative")
	case c.MaxJSONBytes < 0 || c.MaxUploadBytes < 0:
		return errors.New("body limits must not be negative")
	case c.MaxWait < 0 || c.Keepalive < 0 || c.StreamWriteTimeout < 0 || c.OpenAPICacheTTL < 0:
		return errors.New("durations must not be negative")
	}
	return nil
}

func orInt[T int | int64 | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}
