package comfyapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/comfygate/comfygate/internal/artifact"
	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/workflow"
)

// Store is the part of comfygate's store the surface uses: jobs and the
// file names it shows. The SQL stores implement both.
type Store interface {
	job.Store
	job.ComfyFileStore
}

// Hub is where job lifecycle events come from (and where the surface
// announces the jobs it creates). *events.Hub implements it.
type Hub interface {
	Publish(events.Event)
	SubscribeFunc(ctx context.Context, match func(events.Event) bool) (*events.Subscription, error)
}

// Fleet is what the surface needs of the dispatcher; FleetOf adapts
// *fleet.Fleet.
type Fleet interface {
	// Enqueue tells the scheduler a stored job is ready to dispatch.
	Enqueue(id string)
	// Cancel cancels a job in whatever state it is.
	Cancel(ctx context.Context, id string) (*job.Job, error)
	// Catalog is the merged node catalog of the healthy backends, nil
	// before any backend answered.
	Catalog() *workflow.Catalog
	// CheckRunnable fails when no backend could run g.
	CheckRunnable(g workflow.Graph) error
	// Backends lists the backends, healthy ones first.
	Backends() []Backend
}

// Backend is one ComfyUI server of the fleet as the surface sees it.
type Backend struct {
	ID      string
	URL     string // base URL, e.g. http://127.0.0.1:8188
	Healthy bool
	Header  http.Header // sent with every request to it (may be nil)
}

// Config configures a Handler. Zero values take the documented defaults.
type Config struct {
	Store     Store          // required
	Artifacts artifact.Store // required
	Hub       Hub            // required
	Fleet     Fleet          // required
	// Owner authenticates a request and returns the API key id it acts
	// for (the REST API's keys). nil: authentication is off and every
	// caller shares one namespace, as with ComfyUI itself.
	Owner func(*http.Request) (string, error)
	// Logger defaults to discarding.
	Logger *slog.Logger
	// Clock defaults to time.Now.
	Clock func() time.Time
	// HTTPClient talks to backends (proxied routes, /view of files still on
	// a backend, /system_stats). Default: a client with keep-alives.
	HTTPClient *http.Client
	// MaxUploadBytes bounds every request body, as ComfyUI's
	// --max-upload-size does (413 beyond). Default 100 MiB.
	MaxUploadBytes int64
	// MaxQueued is the backlog above which POST /prompt answers 503.
	// Default 100,000.
	MaxQueued int
	// MaxAttempts bounds how often a job is tried. Default 3.
	MaxAttempts int
	// CheckWebhook is the URL policy of webhooks a prompt asks for in
	// extra_data.comfygate.webhook. Default nil: only their shape is checked.
	CheckWebhook func(url string) error
	// MaxImagePixels bounds images decoded for /view re-encodes and
	// /upload/mask (decompression bombs). Default 64 megapixels.
	MaxImagePixels int64
	// Limits bound prompt graphs.
	Limits workflow.Limits
	// HoldTimeout is how long a run whose end is held back (waiting for the
	// job to be finalized) may delay the same owner's later messages.
	// Default 5s; the held messages themselves wait until finalization.
	HoldTimeout time.Duration
	// SocketBuffer is how many frames may wait for one slow socket before
	// it is closed. Default 4096.
	SocketBuffer int
	// StatusBurst is how many status broadcasts per owner go out at once
	// before they are coalesced (one per StatusEvery with the latest
	// count). Defaults 50 and 100ms.
	StatusBurst int
	StatusEvery time.Duration
	// BackendTimeout bounds each request to a backend made for a client
	// (fleet info, proxied routes without a body stream). Default 30s.
	BackendTimeout time.Duration
}

// Defaults.
const (
	DefaultMaxUploadBytes = 100 << 20
	DefaultMaxQueued      = 100_000
	DefaultMaxImagePixels = 64 << 20
	DefaultHoldTimeout    = 5 * time.Second
	DefaultSocketBuffer   = 4096
	DefaultStatusBurst    = 50
	DefaultStatusEvery    = 100 * time.Millisecond
	DefaultBackendTimeout = 30 * time.Second
)

func (c Config) withDefaults() (Config, error) {
	if c.Store == nil || c.Artifacts == nil || c.Hub == nil || c.Fleet == nil {
		return c, errors.New("comfyapi: Store, Artifacts, Hub and Fleet are required")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	def64 := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	def64(&c.MaxUploadBytes, DefaultMaxUploadBytes)
	def64(&c.MaxImagePixels, DefaultMaxImagePixels)
	defInt := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defInt(&c.MaxQueued, DefaultMaxQueued)
	defInt(&c.MaxAttempts, 3)
	defInt(&c.SocketBuffer, DefaultSocketBuffer)
	defInt(&c.StatusBurst, DefaultStatusBurst)
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur(&c.HoldTimeout, DefaultHoldTimeout)
	defDur(&c.StatusEvery, DefaultStatusEvery)
	defDur(&c.BackendTimeout, DefaultBackendTimeout)
	return c, nil
}

// multiTenant reports whether callers are told apart by API key.
func (c Config) multiTenant() bool { return c.Owner != nil }
