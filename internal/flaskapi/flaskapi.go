package flaskapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/comfygate/comfygate/internal/gateway"
	"github.com/comfygate/comfygate/internal/inflight"
	"github.com/comfygate/comfygate/internal/job"
)

// The use cases satisfy the consumer interface.
var _ Service = (*gateway.Service)(nil)

// Service is what this surface needs of the use cases; *gateway.Service
// satisfies it. Owner is the caller's API key id, "" when auth is off: the
// service's owner check decides which jobs a caller sees.
type Service interface {
	// Submit validates and durably stores a job before it returns.
	Submit(ctx context.Context, sub job.Submission) (gateway.Submitted, error)
	// GetJob returns the caller's job with its queue position; the full
	// record is needed because the Flask shapes carry what the REST view
	// leaves out: output subfolders and types, and the graph that ran.
	GetJob(ctx context.Context, owner, id string) (gateway.JobStatus, error)
	ListJobs(ctx context.Context, owner string, q gateway.JobQuery) (gateway.JobPage, error)
	// GetWorkflow and ListWorkflows answer with the workflows the owner
	// sees: its own and the shared ones.
	GetWorkflow(ctx context.Context, owner, name string) (gateway.Workflow, error)
	ListWorkflows(ctx context.Context, owner string) ([]gateway.Workflow, error)
	// Ready is nil when the store answers and a backend is healthy.
	Ready(ctx context.Context) error
	Backends(ctx context.Context) ([]gateway.Backend, error)
}

// Prefix is where the whole Flask surface is served again, history
// included: a client may point its base URL at http://gateway/flask.
const Prefix = "/flask"

// Defaults of Config.
const (
	DefaultMaxBodyBytes = 8 << 20
	DefaultHistoryItems = 100
	MaxHistoryItems     = job.MaxListLimit
	DefaultArtifactPath = "/v1/artifacts/"
)

// Config configures the handler. Service is required; every other
// field's comment gives its default.
type Config struct {
	Service Service
	// Owner authenticates a request and returns the owner it acts for (the
	// API key id, as the REST API derives it). An error answers 401 with
	// its message. It must fail when keys are required and none is valid:
	// owner "" sees every job. Default nil: authentication off, owner "".
	Owner func(r *http.Request) (owner string, err error)
	// BaseURL is the gateway's external URL ("https://gw.example.com"),
	// used to make image urls absolute as the Flask service did. Default:
	// taken from each request (https when it came over TLS, its Host).
	BaseURL string
	// ArtifactPath is the path image urls point at, followed by the
	// artifact id. Default DefaultArtifactPath (the REST API's download
	// route, with Range support).
	ArtifactPath string
	// RootHistory also serves GET /api/history[/{prompt_id}] at the root.
	// Leave it off when the ComfyUI-compatible surface is mounted: it owns
	// those routes there and serves the same shape. Default false.
	RootHistory bool
	// MaxBodyBytes bounds request bodies. Default DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// InFlight bounds the bytes of bodies each key has in memory at once
	// (see package inflight), shared with the other surfaces. Default nil:
	// no bound beyond MaxBodyBytes a request.
	InFlight *inflight.Limiter
	// Logger gets failures (5xx) and panics. Default: discard.
	Logger *slog.Logger
	// Now stamps the client ids of submissions. Default time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() (Config, error) {
	if c.Service == nil {
		return c, errors.New("flaskapi: Service is required")
	}
	if c.ArtifactPath == "" {
		c.ArtifactPath = DefaultArtifactPath
	}
	if !strings.HasSuffix(c.ArtifactPath, "/") {
		c.ArtifactPath += "/"
	}
	c.BaseURL = strings.TrimSuffix(c.BaseURL, "/")
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}

// Handler serves the Flask-compatible routes.
type Handler struct {
	cfg      Config
	svc      Service
	log      *slog.Logger
	mux      *http.ServeMux
	patterns []string // what Register mounts on a process mux
}

// New returns the handler. Mount it with Register, or give it the paths of
// Patterns yourself.
func New(cfg Config) (*Handler, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	h := &Handler{cfg: cfg, svc: cfg.Service, log: cfg.Logger, mux: http.NewServeMux()}
	for _, rt := range h.routes() {
		for _, prefix := range []string{"", Prefix} {
			if prefix == "" && rt.prefixOnly && !cfg.RootHistory {
				continue
			}
			p := rt.method + " " + prefix + rt.path
			h.mux.Handle(p, h.adapt(rt.h))
			if prefix == "" {
				h.patterns = append(h.patterns, p)
			}
		}
	}
	h.mux.Handle(Prefix+"/", h.adapt(h.unmatched))
	h.patterns = append(h.patterns, Prefix+"/")
	return h, nil
}

type route struct {
	method, path string
	h            handlerFunc
	prefixOnly   bool // served at the root only with Config.RootHistory
}

// routes are the Flask service's routes (app.py), minus its thin
// pass-throughs to ComfyUI routes that have no comfygate meaning
// (/api/status, /api/view_queue, POST /api/workflow): the
// ComfyUI-compatible surface serves /system_stats and /queue themselves.
func (h *Handler) routes() []route {
	return []route{
		{method: "GET", path: "/api/test_comfy", h: h.testComfy},
		{method: "GET", path: "/api/workflows", h: h.listWorkflows},
		{method: "POST", path: "/api/workflow/{name}", h: h.runWorkflow},
		{method: "GET", path: "/api/task_status/{prompt_id}", h: h.taskStatus},
		{method: "GET", path: "/api/image/{prompt_id}", h: h.images},
		{method: "GET", path: "/api/history", h: h.history, prefixOnly: true},
		{method: "GET", path: "/api/history/{prompt_id}", h: h.promptHistory, prefixOnly: true},
	}
}

// ServeHTTP routes a request to its handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Patterns are the http.ServeMux patterns to send to this handler: one per
// root route, and Prefix+"/" for everything under the prefix.
func (h *Handler) Patterns() []string { return append([]string(nil), h.patterns...) }

// Register mounts the handler on mux at Patterns. Like every ServeMux
// registration it panics on a conflicting pattern (e.g. GET /api/history
// registered twice): that is a wiring bug to catch at start.
func (h *Handler) Register(mux *http.ServeMux) {
	for _, p := range h.patterns {
		mux.Handle(p, h)
	}
}
