package server

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/comfygate/comfygate/comfy/comfysim"
	"github.com/comfygate/comfygate/internal/fleet"
	"github.com/comfygate/comfygate/internal/gateway"
	"github.com/comfygate/comfygate/internal/httpapi"
)

// Config configures a Server. The zero value is usable: every field's
// comment gives its default.
type Config struct {
	// Listen is the address of the one listener for every surface.
	// Default "127.0.0.1:8080" (loopback: set API keys before exposing it).
	// Use port 0 to pick a free port; Addr reports it.
	Listen string
	// DataDir holds everything the process keeps: the SQLite database
	// (comfygate.db), content-addressed artifacts (artifacts/), workflow
	// files (workflows/), the simulators' directories (sim/N) and the
	// instance id. Default "./comfygate-data".
	DataDir string
	// Artifacts is where outputs and uploads are kept: a directory, or
	// s3://BUCKET/PREFIX?endpoint=URL&region=R&use_path_style=true for an
	// S3-compatible bucket that several replicas share (credentials from
	// the standard AWS variables; see artifact.Open). Default: DataDir's
	// artifacts/ directory.
	Artifacts string
	// Database is where jobs, workflows, backends and everything else the
	// gateway keeps live: a SQLite file ("sqlite:PATH" or a plain path), or
	// a postgres:// URL (libpq form; pool_max_conns=N sizes the connection
	// pool) that several replicas share. With PostgreSQL the replicas
	// share the backends out under leases and hear each other's events
	// over LISTEN/NOTIFY. Default: DataDir's comfygate.db.
	Database string

	// Backends are the ComfyUI servers of the fleet. Default: none (the
	// server runs, but jobs stay queued until a backend is added).
	Backends []BackendConfig
	// SimBackends starts this many in-process ComfyUI simulators on
	// 127.0.0.1:0 and adds them to the fleet as "sim-1", "sim-2", … Each
	// keeps its files in DataDir/sim/N. Default 0.
	SimBackends int
	// Sim is the template of every simulator's options (StepDelay makes a
	// demo job show progress); Listen and DataDir are ignored. Default: the
	// simulator's defaults.
	Sim comfysim.Options
	// Examples stores the example workflows (txt2img, img2img) at start when no
	// workflow of that name exists. Default false; the demo sets it.
	Examples bool

	// APIKeys, when not empty, are required on the API, and only admin
	// keys may change the fleet and the shared workflows, read /metrics
	// and backends' error texts whole, and reach backend routes the
	// surfaces do not serve; see ParseAPIKey. Default: none
	// (authentication off, everyone is the admin; fine on loopback only).
	APIKeys []httpapi.APIKey
	// ProxyAllow are backend route prefixes ("/my_node") that user keys
	// may reach through the ComfyUI-compatible surface's proxy (each
	// opens exactly its subtree, also under /api). Default: none (only
	// admin keys reach backend routes comfygate does not serve).
	ProxyAllow []string
	// MetricsKeyHash, when not zero, is the SHA-256 of a key that opens
	// /metrics and nothing else; see ParseMetricsKey. /metrics is open
	// while neither this nor APIKeys is set, and otherwise needs this key
	// or an admin key. Default: none.
	MetricsKeyHash [sha256.Size]byte
	// MaxAttempts bounds how often a job is dispatched.
	// Default DefaultMaxAttempts (3).
	MaxAttempts int
	// MaxCrashRetries bounds how often a job is retried after a backend
	// died while running it; one more death fails it as a suspected
	// crasher. Default 1 (0 takes the default); NoCrashRetries fails it at
	// the first death.
	MaxCrashRetries int
	// StallTimeout: a job its backend says nothing about for this long
	// while running it is interrupted there and retried elsewhere, and the
	// backend takes no new jobs until it answers again. Default
	// DefaultStallTimeout (2m); raise it above your workflows' longest
	// silent step (video decodes, model loads).
	StallTimeout time.Duration
	// MaxQueued is the backlog above which new jobs get 503 with
	// Retry-After. Default DefaultMaxQueued (100,000).
	MaxQueued int
	// MaxUploadBytes bounds an upload or a fetched input.
	// Default DefaultMaxUploadBytes (100 MiB).
	MaxUploadBytes int64
	// Limits bound what one request may hold and how slowly it may
	// arrive; see RequestLimits for the defaults.
	Limits RequestLimits

	// AllowURLInputs lets image parameters be http(s) URLs that comfygate
	// fetches. Default false.
	AllowURLInputs bool
	// AllowedHosts limits URL inputs to these hosts ("example.com",
	// "*.example.com"). Default: any public host.
	AllowedHosts []string
	// AllowPrivateURLs lets URL inputs and webhooks reach loopback and
	// private address ranges. Default false.
	AllowPrivateURLs bool
	// AllowLoopbackURLs lets URL inputs and webhooks reach this host
	// (127.0.0.0/8, ::1), and no other private range. Default false; the
	// demo sets it.
	AllowLoopbackURLs bool

	// WebhookSecrets sign webhooks, written whsec_<base64>: the current
	// one, then optionally the one being rotated out (both signatures are
	// sent). Default: a secret generated on first start and kept in the
	// database (GET /v1/webhooks/secret shows it to admins).
	WebhookSecrets []string
	// WebhookRetryBase is the first retry's delay (each next one doubles,
	// up to an hour, with jitter). Default 5s.
	WebhookRetryBase time.Duration
	// WebhookRetryFor is how long a message is retried. Default 24h.
	WebhookRetryFor time.Duration
	// WebhookTimeout bounds one delivery attempt. Default 10s.
	WebhookTimeout time.Duration
	// CORSOrigins are the web origins whose pages may call every surface
	// from a browser ("https://app.example.com", "https://*.example.com",
	// or "*" for any); see httpapi.CORS. Default: none (no CORS headers,
	// preflights refused).
	CORSOrigins []string

	// Retain is how long a finished job is kept after it ended: older ones
	// are deleted in the background, with the files no other job, upload
	// or ComfyUI-compatible name uses (see gateway.Retention). Default 0:
	// jobs are kept until deleted through the API.
	Retain time.Duration

	// InstanceID names this process in job leases and backend client ids.
	// Default: read from DataDir/instance-id, created on first start, so a
	// restarted gateway re-attaches its own running jobs at once.
	InstanceID string
	// ShutdownTimeout bounds Run's graceful stop: in-flight requests and
	// fleet bookkeeping get this long before they are cancelled.
	// Default 30s.
	ShutdownTimeout time.Duration
	// Logger receives the process log. Default: discard.
	Logger *slog.Logger
	// Version is this build's version: logged at start and reported by
	// the API docs. Default "dev".
	Version string
}

// BackendConfig names one ComfyUI server.
type BackendConfig struct {
	// URL is the ComfyUI base URL, e.g. "http://127.0.0.1:8188". Required.
	URL string
	// ID names the backend in jobs and logs. Default: "backend-N", N its
	// 1-based position in Config.Backends.
	ID string
	// OutputDir is ComfyUI's output directory, for a backend on this host:
	// outputs are read from there and removed once stored (see
	// fleet.BackendConfig.OutputDir). Default "": outputs are downloaded.
	OutputDir string
}

// Defaults.
const (
	DefaultListen          = "127.0.0.1:8080"
	DefaultDataDir         = "./comfygate-data"
	DefaultShutdownTimeout = 30 * time.Second
	DefaultMaxAttempts     = 3
	DefaultStallTimeout    = fleet.DefaultStallTimeout
	DefaultMaxCrashRetries = fleet.DefaultMaxCrashRetries
	DefaultMaxQueued       = 100_000
	DefaultMaxUploadBytes  = 100 << 20
	// Webhook deliveries: the first retry's delay, how long a message is
	// retried, and the time one attempt may take.
	DefaultWebhookRetryBase = 5 * time.Second
	DefaultWebhookRetryFor  = 24 * time.Hour
	DefaultWebhookTimeout   = 10 * time.Second
)

// NoCrashRetries as Config.MaxCrashRetries fails a job the first time a
// backend dies while running it.
const NoCrashRetries = fleet.NoCrashRetries

// Files and directories inside DataDir.
const (
	dbFile        = "comfygate.db"
	artifactsDir  = "artifacts"
	workflowsDir  = "workflows"
	simDir        = "sim"
	instanceFile  = "instance-id"
	lockFile      = "comfygate.lock"
	simIDPrefix   = "sim-"
	backendPrefix = "backend-"
)

func (c Config) withDefaults() Config {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.MaxQueued == 0 {
		c.MaxQueued = DefaultMaxQueued
	}
	if c.MaxUploadBytes == 0 {
		c.MaxUploadBytes = DefaultMaxUploadBytes
	}
	c.Limits = c.Limits.withDefaults()
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	c.Backends = append([]BackendConfig(nil), c.Backends...)
	for i := range c.Backends {
		if c.Backends[i].ID == "" {
			c.Backends[i].ID = fmt.Sprintf("%s%d", backendPrefix, i+1)
		}
	}
	return c
}

func (c Config) validate() error {
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("listen %q: want host:port: %w", c.Listen, err)
	}
	if c.SimBackends < 0 || c.MaxAttempts < 0 || c.MaxQueued < 0 || c.MaxUploadBytes < 0 || c.Retain < 0 {
		return errors.New("sim backends, max attempts, max queued, max upload bytes and retain must not be negative")
	}
	if c.StallTimeout < 0 || c.MaxCrashRetries < NoCrashRetries {
		return errors.New("stall timeout and max crash retries must not be negative (NoCrashRetries for none)")
	}
	if err := c.Limits.validate(); err != nil {
		return err
	}
	if _, err := httpapi.CORS(c.CORSOrigins, nil); err != nil {
		return err
	}
	db, err := parseDatabase(c.Database, c.DataDir)
	if err != nil {
		return err
	}
	if db.engine == enginePostgres && c.SimBackends > 0 {
		return errors.New("sim backends run inside one process, so other replicas could not drive them: " +
			"with a postgres:// database start simulators as processes (comfygate sim) and give them as backends")
	}
	for _, p := range c.ProxyAllow {
		if err := gateway.CheckProxyPrefix(p); err != nil {
			return err
		}
	}
	seen := map[string]bool{}
	for i, b := range c.Backends {
		u, err := url.Parse(b.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("backends[%d]: url %q: want http(s)://host[:port]", i, b.URL)
		}
		if strings.HasPrefix(b.ID, simIDPrefix) && c.SimBackends > 0 {
			return fmt.Errorf("backends[%d]: id %q: the %q prefix is taken by the simulators", i, b.ID, simIDPrefix)
		}
		if seen[b.ID] {
			return fmt.Errorf("backends[%d]: duplicate id %q", i, b.ID)
		}
		seen[b.ID] = true
	}
	return nil
}

func (c Config) path(elem ...string) string {
	return filepath.Join(append([]string{c.DataDir}, elem...)...)
}

// ParseAPIKey reads a key as given on the command line or in a config file:
// "id:key" (the key is hashed at once and not kept), or
// "id:sha256:<64 hex digits>" (the hash of the key, so that a config file
// need not hold the key itself). The id owns what the key creates. Either
// form may end in ":admin" for a key that may also change the fleet (add,
// remove, drain, resume backends); a key itself cannot end in ":admin".
func ParseAPIKey(s string) (httpapi.APIKey, error) {
	s, admin := strings.CutSuffix(s, adminSuffix)
	id, secret, ok := strings.Cut(s, ":")
	id = strings.TrimSpace(id)
	if !ok || id == "" || secret == "" {
		return httpapi.APIKey{}, errors.New(`api key: want "id:key" or "id:sha256:<hex>", optionally followed by ":admin"`)
	}
	if hexHash, ok := strings.CutPrefix(secret, "sha256:"); ok {
		b, err := hex.DecodeString(hexHash)
		if err != nil || len(b) != sha256.Size {
			return httpapi.APIKey{}, fmt.Errorf("api key %q: sha256 form needs %d hex digits", id, 2*sha256.Size)
		}
		return httpapi.APIKey{ID: id, Hash: [sha256.Size]byte(b), Admin: admin}, nil
	}
	if len(secret) < 16 {
		return httpapi.APIKey{}, fmt.Errorf("api key %q: the key must be at least 16 characters", id)
	}
	return httpapi.APIKey{ID: id, Hash: httpapi.HashKey(secret), Admin: admin}, nil
}

// adminSuffix marks an admin key in ParseAPIKey's forms.
const adminSuffix = ":admin"

// ParseMetricsKey reads the key of /metrics as given on the command line
// or in a config file: the key itself (hashed at once, at least 16
// characters), or "sha256:<64 hex digits>", its hash.
func ParseMetricsKey(s string) ([sha256.Size]byte, error) {
	if hexHash, ok := strings.CutPrefix(s, "sha256:"); ok {
		b, err := hex.DecodeString(hexHash)
		if err != nil || len(b) != sha256.Size {
			return [sha256.Size]byte{}, fmt.Errorf("metrics key: sha256 form needs %d hex digits", 2*sha256.Size)
		}
		return [sha256.Size]byte(b), nil
	}
	if len(s) < 16 {
		return [sha256.Size]byte{}, errors.New("metrics key: the key must be at least 16 characters")
	}
	return httpapi.HashKey(s), nil
}

// adminIDs are the ids of the admin keys.
func adminIDs(keys []httpapi.APIKey) []string {
	var ids []string
	for _, k := range keys {
		if k.Admin {
			ids = append(ids, k.ID)
		}
	}
	return ids
}
