package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/comfygate/comfygate/internal/artifact"
	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/workflow"
)

// Fleet is what the gateway needs of the dispatcher (internal/fleet).
type Fleet interface {
	// Enqueue tells the scheduler a stored job is ready to dispatch,
	// handing over the job as stored (which the scheduler does not modify).
	Enqueue(j *job.Job)
	// Cancel cancels a job in whatever state it is.
	Cancel(ctx context.Context, id string) (*job.Job, error)
	// Catalog is the merged node catalog of the healthy backends, nil
	// before any backend answered.
	Catalog() *workflow.Catalog
	// CheckRunnable fails when no backend could run g.
	CheckRunnable(g workflow.Graph) error
	// Ready reports whether at least one backend is healthy.
	Ready() bool
	// Backends describes every backend, in configuration order.
	Backends() []Backend
}

// Reserver is the fleet's side of a submission stored already dispatched
// (internal/fleet's Reserve): when a backend can take the job at once and
// none waits, the commit that creates the job records its dispatch too,
// and the fleet posts it without a claim of its own.
type Reserver interface {
	// Reserve holds a backend slot for j, about to be stored under its ID,
	// or returns nil when j is to be stored queued and enqueued.
	Reserve(j *job.Job) Reservation
}

// Reservation is a backend slot held for one submission. After Reserve,
// exactly one of Start and Release is called.
type Reservation interface {
	// Claim binds the job being created to the slot's backend; it runs
	// as the update of the creating commit (job.Store's
	// CreateJobThenUpdate).
	Claim(j *job.Job) (*job.Event, error)
	// Start sets off the job the commit stored dispatched (j and ev as
	// stored), once its first event is published.
	Start(j *job.Job, ev *job.Event)
	// Release gives the slot back: the job was not stored dispatched.
	Release()
}

// Fetcher fetches a caller-supplied URL; internal/safefetch implements it.
type Fetcher interface {
	Fetch(ctx context.Context, url string) (body io.ReadCloser, contentType string, err error)
}

// Names resolves the file names an owner sees on the ComfyUI-compatible
// surface ("photo.png", "sub/photo.png", "x.png [output]") to the stored
// blob behind them; internal/comfyapi's Names implements it. ok is false
// for a name that is none of the owner's files.
type Names interface {
	ResolveName(ctx context.Context, owner, value string) (artifactID string, ok bool, err error)
}

// Config configures a Service. Zero values take the documented defaults.
type Config struct {
	Store     job.Store      // required
	Artifacts artifact.Store // required
	Hub       *events.Hub    // required
	Fleet     Fleet          // required
	// Reserver lets a job submitted while a backend has a free slot and
	// no job waits be stored already dispatched to it, with one commit
	// (see Reserver); jobs with a prompt_id are always stored queued.
	// Default nil: every job is stored queued and the fleet claims it
	// with a commit of its own.
	Reserver Reserver
	// Admin changes the fleet at run time (add, remove, drain, resume,
	// test a backend). Default nil: those calls fail with a ForbiddenError.
	Admin FleetAdmin
	// RemoveWait bounds how long RemoveBackend lets the jobs on a backend
	// finish before they are moved elsewhere. Default 30s.
	RemoveWait time.Duration
	// Fetcher fetches image parameters given as URLs (internal/safefetch
	// refuses private addresses); nil refuses URL inputs.
	Fetcher Fetcher
	// Names lets file inputs name the owner's files of the
	// ComfyUI-compatible surface on every surface. Default nil: only
	// upload ids, staged names, data: and http(s) URLs are staged.
	Names Names
	// Logger defaults to discarding.
	Logger *slog.Logger
	// Clock defaults to time.Now.
	Clock func() time.Time
	// MaxAttempts bounds how often a job is tried. Default 3.
	MaxAttempts int
	// MaxQueued is the backlog above which new jobs are refused with an
	// OverloadError (503 + Retry-After). Default 100,000.
	MaxQueued int
	// MaxUploadBytes bounds an upload or a fetched input. Default 100 MiB.
	MaxUploadBytes int64
	// CheckWebhook is the URL policy webhooks follow (internal/safefetch:
	// private addresses, allowed hosts); a URL it refuses is refused at
	// submission. Default nil: only the URL's shape is checked.
	CheckWebhook func(url string) error
	// Limits bound graphs (node count, string lengths).
	Limits workflow.Limits
	// Admins are the API key ids of admin keys (see IsAdmin). Default
	// none: with authentication on, no key is an admin.
	Admins []string
	// ProxyAllow are the backend route prefixes ("/my_node") that keys
	// other than admins may reach through the ComfyUI-compatible
	// surface's proxy (see ProxyAllowed). Default none.
	ProxyAllow []string
}

func (c Config) withDefaults() (Config, error) {
	if c.Store == nil || c.Artifacts == nil || c.Hub == nil || c.Fleet == nil {
		return c, errors.New("gateway: Store, Artifacts, Hub and Fleet are required")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 3
	}
	if c.MaxQueued <= 0 {
		c.MaxQueued = 100_000
	}
	if c.MaxUploadBytes <= 0 {
		c.MaxUploadBytes = 100 << 20
	}
	if c.RemoveWait <= 0 {
		c.RemoveWait = 30 * time.Second
	}
	for _, p := range c.ProxyAllow {
		if err := CheckProxyPrefix(p); err != nil {
			return c, fmt.Errorf("gateway: %w", err)
		}
	}
	return c, nil
}

// Service implements comfygate's use cases. It is safe for concurrent use.
type Service struct {
	Access // who is an admin (Config.Admins), and what each owner reads
	cfg    Config
	queue  *queueView
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	// One key past MaxQueued is enough to refuse; reading no more keeps a
	// full queue's view small.
	return &Service{Access: NewAccess(cfg.Admins), cfg: cfg, queue: newQueueView(cfg.Store, cfg.Clock, cfg.MaxQueued+1)}, nil
}

// Ready reports whether the service can take and run work.
func (s *Service) Ready(ctx context.Context) error {
	if err := s.cfg.Store.Ping(ctx); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if !s.cfg.Fleet.Ready() {
		return errors.New("no healthy backend")
	}
	if r, ok := s.cfg.Artifacts.(readier); ok {
		if err := r.Ready(ctx); err != nil {
			return fmt.Errorf("artifacts: %w", err)
		}
	}
	return nil
}

// readier is an artifact store that can say whether its storage (a
// directory, a bucket) answers; artifact.Backend is one.
type readier interface {
	Ready(ctx context.Context) error
}

// Catalog is the fleet's merged node catalog, nil before any backend
// answered: what graphs are checked against.
func (s *Service) Catalog() *workflow.Catalog { return s.cfg.Fleet.Catalog() }

// notFound wraps job.ErrNotFound-style errors into the gateway's sentinel;
// nil stays nil.
func notFound(what, id string, err error) error {
	if errors.Is(err, job.ErrNotFound) || errors.Is(err, artifact.ErrNotFound) {
		return fmt.Errorf("%s %q: %w", what, id, ErrNotFound)
	}
	return err
}
