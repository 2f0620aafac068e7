package comfyapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/comfygate/comfygate/internal/artifact"
	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/gateway"
	"github.com/comfygate/comfygate/internal/inflight"
	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/workflow"
)

// Store is the part of comfygate's store the surface reads (and where it
// keeps its file names and hides history entries). Jobs are created by the
// use cases only (Gateway.Submit), never here. The SQL stores implement it.
type Store interface {
	NameStore
	ListJobs(ctx context.Context, f job.JobFilter) ([]*job.Job, string, error)
	JobUpdatedAt(ctx context.Context, id string) (time.Time, error)
	UpdateJob(ctx context.Context, id string, fn func(*job.Job) error) (*job.Job, error)
	PutArtifact(ctx context.Context, a *job.Artifact) error
}

// Hub is where job lifecycle events come from. *events.Hub implements it.
type Hub interface {
	SubscribeFunc(ctx context.Context, match func(events.Event) bool) (*events.Subscription, error)
}

// Gateway is what the surface needs of the use cases; *gateway.Service
// implements it. The surface decodes ComfyUI's wire forms, calls these, and
// answers in ComfyUI's shapes: it submits, cancels and finds jobs, stages
// files and checks owners through them, never on its own.
type Gateway interface {
	// Submit creates a job (the one way to).
	Submit(ctx context.Context, sub job.Submission) (gateway.Submitted, error)
	// SubmitParsed is Submit with the prompt as the graph this surface
	// parsed and validated against Catalog(), so that it is not encoded,
	// parsed and validated again.
	SubmitParsed(ctx context.Context, sub job.Submission, graph workflow.Graph) (gateway.Submitted, error)
	// CancelJob cancels a job of the owner's in whatever state it is.
	CancelJob(ctx context.Context, owner, id string) (gateway.JobStatus, error)
	// JobByPromptID returns the owner's latest job with that prompt_id,
	// or an error wrapping gateway.ErrNotFound.
	JobByPromptID(ctx context.Context, owner, promptID string) (*job.Job, error)
	// InputExists answers the file checks of validation for the owner.
	InputExists(ctx context.Context, owner string) func(name string) bool
	// Catalog is the merged node catalog of the healthy backends, nil
	// before any backend answered.
	Catalog() *workflow.Catalog
	// Backends lists the backends, in configuration order.
	Backends(ctx context.Context) ([]gateway.Backend, error)
	// ProxyAllowed says whether the owner may reach a backend route this
	// surface does not serve (a gateway.ForbiddenError if not).
	ProxyAllowed(owner, escapedPath string) error
	// TextFor is a backend's or the system's error text as the owner may
	// read it (whole for admins; without addresses and paths otherwise).
	TextFor(owner, text string) string
	// CheckWebhook refuses a webhook URL the URL policy forbids.
	CheckWebhook(url string) error
}

var _ Gateway = (*gateway.Service)(nil)

// Config configures a Handler. Zero values take the documented defaults.
type Config struct {
	Store     Store          // required
	Artifacts artifact.Store // required
	Hub       Hub            // required
	Gateway   Gateway        // required
	// Names are the file names the surface shows, shared with the
	// Gateway's staging (gateway.Config.Names). Default: NewNames(Store).
	Names *Names
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
	// MaxUploadBytes bounds upload and proxied request bodies, which are
	// streamed, as ComfyUI's --max-upload-size does (413 beyond). Default
	// 100 MiB.
	MaxUploadBytes int64
	// MaxPromptBytes bounds the JSON bodies the surface reads whole
	// (/prompt, /queue, /history, /interrupt, /free, /api/jobs/cancel):
	// 413 beyond, in aiohttp's words. ComfyUI applies its upload size
	// here too; a prompt is decoded, validated and stored, each a copy, so
	// its bound is kept well below. Default DefaultMaxPromptBytes (8 MiB).
	MaxPromptBytes int64
	// InFlight bounds the bytes of those bodies each key has in memory at
	// once, shared with the other surfaces. nil: a limiter of its own of
	// DefaultInFlightBytes a key.
	InFlight *inflight.Limiter
	// MaxImagePixels bounds the images /view re-encodes and /upload/mask
	// merges (width × height; every pass visits every pixel): beyond it a
	// 422. Default 64 Mi pixels (8192×8192).
	MaxImagePixels int64
	// ImageBudgetBytes is the memory that images decoded whole (all but
	// PNGs that are not interlaced, which stream a few rows at a time) may
	// hold at once for those routes. Each reserves what its header
	// announces before decoding and waits while others hold the budget;
	// one that needs more than all of it gets a 422. Default 128 MiB.
	ImageBudgetBytes int64
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
	DefaultMaxPromptBytes = 8 << 20
	DefaultInFlightBytes  = 32 << 20
	DefaultMaxImagePixels = 64 << 20
	DefaultImageBudget    = 128 << 20
	DefaultHoldTimeout    = 5 * time.Second
	DefaultSocketBuffer   = 4096
	DefaultStatusBurst    = 50
	DefaultStatusEvery    = 100 * time.Millisecond
	DefaultBackendTimeout = 30 * time.Second
)

func (c Config) withDefaults() (Config, error) {
	if c.Store == nil || c.Artifacts == nil || c.Hub == nil || c.Gateway == nil {
		return c, errors.New("comfyapi: Store, Artifacts, Hub and Gateway are required")
	}
	if c.Names == nil {
		c.Names = NewNames(c.Store)
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
	def64(&c.MaxPromptBytes, DefaultMaxPromptBytes)
	if c.InFlight == nil {
		c.InFlight = inflight.New(max(DefaultInFlightBytes, c.MaxPromptBytes))
	}
	if c.InFlight.PerKey() < c.MaxPromptBytes {
		return c, fmt.Errorf("comfyapi: a key's bytes in flight (%d) must hold one body of MaxPromptBytes (%d)", c.InFlight.PerKey(), c.MaxPromptBytes)
	}
	def64(&c.MaxImagePixels, DefaultMaxImagePixels)
	def64(&c.ImageBudgetBytes, DefaultImageBudget)
	defInt := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
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
