package fleet

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/job"
	"github.com/prometheus/client_golang/prometheus"
)

// Hub is where the fleet publishes job events: durable ones after they are
// stored, ephemeral ones (progress, previews) instead of storing them.
// *events.Hub implements it.
type Hub interface {
	Publish(events.Event)
}

// BackendConfig describes one ComfyUI server.
type BackendConfig struct {
	// ID names the backend in jobs, logs and the admin API. Required, unique.
	ID string
	// URL is the ComfyUI base URL, e.g. "http://127.0.0.1:8188". Required.
	URL string
	// MaxInflight is how many of our jobs may be in ComfyUI's hands at once.
	// Default 2: one running plus one waiting in ComfyUI's own queue, so the
	// next job starts the instant one ends, while everything else stays in
	// comfygate's queue, free to go to whichever backend frees up first.
	MaxInflight int
	// Headers are sent with every request and the WebSocket upgrade (for a
	// ComfyUI behind an authenticating proxy).
	Headers http.Header
	// OutputDir is ComfyUI's output directory as this process sees it,
	// for a backend on the same host (or sharing the directory): an
	// absolute path to an existing directory. The files save nodes wrote
	// in comfygate's output folders there (job.OutputFolder) are then read
	// from disk instead of downloaded through /view, and a folder is
	// removed once its files are stored, so the backend keeps no copies.
	// Other outputs
	// (previews in ComfyUI's temp directory, files of custom save nodes)
	// are downloaded and left as they are, and so is a file not found on
	// disk. Default "": every output is downloaded and left on the
	// backend.
	OutputDir string
}

// Config configures a Fleet. Zero values take the documented defaults.
type Config struct {
	// Backends are the ComfyUI servers to start with; more can be added at
	// run time with AddBackend.
	Backends []BackendConfig
	// Store holds the jobs; it is the queue. Required.
	Store job.Store
	// Registry keeps the backends (the configured ones are put into it at
	// Start; AddBackend and RemoveBackend change it) and their leases. Pass
	// the store that several replicas share to let them share the fleet:
	// each backend is then driven by one replica at a time. Default: one in
	// memory, not shared, in which this fleet holds every lease.
	Registry job.BackendStore
	// Peers tells the other replicas what this one changed. Default: none.
	Peers Peers
	// Artifacts receives the output files and serves staged inputs. Required.
	Artifacts ArtifactStore
	// Hub receives job events. Default: events are not published.
	Hub Hub
	// Tap receives the backends' own messages about jobs (for the
	// ComfyUI-compatible surface). Default: none.
	Tap Tap
	// EndNames gives the names a surface showed for a job's outputs, to be
	// stored in the transaction that ends the job successfully when Store
	// keeps names (job.NamesWithUpdate). Default: none.
	EndNames EndNames
	// Policy orders the queue. Default NewFairPolicy().
	Policy Policy
	// Logger. Default: discard.
	Logger *slog.Logger
	// Clock. Default: the wall clock.
	Clock Clock
	// Metrics registers the fleet's Prometheus collectors. Default: none.
	Metrics prometheus.Registerer
	// HTTPClient talks to the backends. Default: a client with keep-alives
	// sized for MaxInflight and no overall timeout (each call has a ctx
	// deadline; /view downloads of large videos must not time out).
	HTTPClient *http.Client

	// InstanceID names this process in job leases and in the backends'
	// client ids ("comfygate-<InstanceID>-<backend>"). Default: random per
	// process. A single replica that sets a stable value re-attaches its
	// jobs' live events at once after a restart; with the default, such jobs
	// are followed by polling (PollInterval) and other replicas' expired
	// leases are taken over after LeaseTTL.
	InstanceID string
	// MaxAttempts bounds dispatches per job (a job's own MaxAttempts wins
	// when set). Default 3.
	MaxAttempts int
	// MaxCrashRetries bounds how often a job whose backend died while
	// running it is retried; one more death fails it as a suspected
	// crasher (error type "suspected_crash", naming the backends it took
	// down). Default 1; NoCrashRetries fails it at the first death. It
	// applies within MaxAttempts. See crash.go.
	MaxCrashRetries int
	// ProbeInterval is how often each backend's /system_stats is probed.
	// Default 5s.
	ProbeInterval time.Duration
	// ProbeTimeout bounds one probe. Default ProbeInterval.
	ProbeTimeout time.Duration
	// DownAfter failed probes in a row mark a backend down. Default 3.
	DownAfter int
	// SocketGrace: a backend whose socket stays down longer is down.
	// Default 10s.
	SocketGrace time.Duration
	// ReconnectBackoff is the first wait before redialling a dropped
	// socket; it doubles up to ProbeInterval. Default 500ms.
	ReconnectBackoff time.Duration
	// StallTimeout: a run the backend is running but says nothing about
	// for this long (no executing, progress, preview or other frame for
	// its prompt on our socket) is stalled: it is interrupted there and
	// retried elsewhere, the prompts waiting behind it in that backend's
	// queue are moved, and the backend takes no new jobs until it speaks
	// again (see stall.go). Any run silent this long is also reconciled
	// from /queue and /history, in case its end was lost. Long jobs never
	// time out as long as the backend keeps reporting; set it above the
	// longest silent node of your workflows (a model load, a VAE decode
	// of a long video). Default 2m.
	StallTimeout time.Duration
	// PollInterval is how often a run whose events cannot reach our socket
	// (re-attached after a restart under another client id) polls. Default 1s.
	PollInterval time.Duration
	// RefreshInterval is how often the queue view is reloaded from the store
	// (jobs other replicas queued, leases to take over). Default 2s.
	RefreshInterval time.Duration
	// CatalogInterval is how often a backend's /object_info is reloaded.
	// Default 5m; it is also reloaded whenever the socket reconnects.
	CatalogInterval time.Duration
	// LeaseTTL is how long a replica's claim on a dispatched job lasts
	// without renewal. Default 30s.
	LeaseTTL time.Duration
	// BackendLeaseTTL is how long a replica's lease on a backend lasts
	// without renewal; it renews every third of it. A replica that dies
	// leaves its backends to the others after at most this long; one that
	// cannot renew for this long stops driving them itself. Default 15s.
	BackendLeaseTTL time.Duration
	// ProgressEvery bounds how often a run's progress is written to the
	// store. Default 1s.
	ProgressEvery time.Duration
	// StartWindow is how long recording a run's start (dispatched →
	// running, and its "started" event) waits for the run's end: a run
	// that ends within it has its start recorded in the commit that
	// records its end, one commit less per job; a longer run has it
	// recorded when the window closes. Events of the run published
	// meanwhile (node, progress) wait with it, so streams still see
	// "started" first. Default 20ms (on a busy host a short run's end
	// often comes 5–20ms after its start); negative: recorded at once.
	StartWindow time.Duration
	// PreviewEvery bounds how often a run publishes a preview. Default 200ms
	// (at most 5 per second).
	PreviewEvery time.Duration
	// RequestTimeout bounds each control request to a backend (prompt,
	// queue, history, upload). Default 30s.
	RequestTimeout time.Duration
	// VerifyHistory reads /history/{id} at the end of every run. By
	// default it is read only when the socket may have missed something
	// (a reconnect during the run, a stall, a failure, a re-attached run):
	// when our socket saw execution_start, every executed message and
	// execution_success, those carry exactly the outputs history would,
	// and skipping the request spares ComfyUI's single Python process,
	// which re-serialises the whole prompt for /history.
	VerifyHistory bool
	// MaxOutputBytes bounds one output file copied off a backend.
	// Default 4 GiB.
	MaxOutputBytes int64
}

// NoCrashRetries as Config.MaxCrashRetries fails a job the first time its
// backend dies while running it.
const NoCrashRetries = -1

// Defaults.
const (
	DefaultMaxInflight      = 2
	DefaultMaxAttempts      = 3
	DefaultProbeInterval    = 5 * time.Second
	DefaultDownAfter        = 3
	DefaultSocketGrace      = 10 * time.Second
	DefaultStallTimeout     = 2 * time.Minute
	DefaultMaxCrashRetries  = 1
	DefaultReconnectBackoff = 500 * time.Millisecond
	DefaultPollInterval     = time.Second
	DefaultRefreshInterval  = 2 * time.Second
	DefaultCatalogInterval  = 5 * time.Minute
	DefaultLeaseTTL         = 30 * time.Second
	DefaultBackendLeaseTTL  = 15 * time.Second
	DefaultProgressEvery    = time.Second
	DefaultStartWindow      = 20 * time.Millisecond
	DefaultPreviewEvery     = 200 * time.Millisecond
	DefaultRequestTimeout   = 30 * time.Second
	DefaultMaxOutputBytes   = 4 << 30
)

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.ProbeInterval, DefaultProbeInterval)
	def(&c.ProbeTimeout, c.ProbeInterval)
	def(&c.SocketGrace, DefaultSocketGrace)
	def(&c.StallTimeout, DefaultStallTimeout)
	def(&c.ReconnectBackoff, DefaultReconnectBackoff)
	def(&c.PollInterval, DefaultPollInterval)
	def(&c.RefreshInterval, DefaultRefreshInterval)
	def(&c.CatalogInterval, DefaultCatalogInterval)
	def(&c.LeaseTTL, DefaultLeaseTTL)
	def(&c.BackendLeaseTTL, DefaultBackendLeaseTTL)
	def(&c.ProgressEvery, DefaultProgressEvery)
	if c.StartWindow == 0 {
		c.StartWindow = DefaultStartWindow
	}
	def(&c.PreviewEvery, DefaultPreviewEvery)
	def(&c.RequestTimeout, DefaultRequestTimeout)
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.MaxCrashRetries == 0 {
		c.MaxCrashRetries = DefaultMaxCrashRetries
	}
	if c.DownAfter <= 0 {
		c.DownAfter = DefaultDownAfter
	}
	if c.MaxOutputBytes <= 0 {
		c.MaxOutputBytes = DefaultMaxOutputBytes
	}
	if c.Policy == nil {
		c.Policy = NewFairPolicy()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Clock == nil {
		c.Clock = realClock{}
	}
	if c.Hub == nil {
		c.Hub = nopHub{}
	}
	if c.Tap == nil {
		c.Tap = nopTap{}
	}
	if c.Registry == nil {
		c.Registry = newMemRegistry()
	}
	if c.Peers == nil {
		c.Peers = nopPeers{}
	}
	if c.HTTPClient == nil {
		c.HTTPClient = defaultHTTPClient()
	}
	if c.InstanceID == "" {
		c.InstanceID = randomID()
	}
	return c
}

func (c Config) validate() error {
	if c.Store == nil {
		return errors.New("fleet config: Store is required")
	}
	if c.Artifacts == nil {
		return errors.New("fleet config: Artifacts is required")
	}
	seen := map[string]bool{}
	for i, b := range c.Backends {
		if err := b.validate(); err != nil {
			return fmt.Errorf("fleet config: backends[%d]: %w", i, err)
		}
		if seen[b.ID] {
			return fmt.Errorf("fleet config: backends[%d]: duplicate id %q", i, b.ID)
		}
		seen[b.ID] = true
	}
	return nil
}

func (b BackendConfig) withDefaults() BackendConfig {
	if b.MaxInflight <= 0 {
		b.MaxInflight = DefaultMaxInflight
	}
	return b
}

func (b BackendConfig) validate() error {
	if b.ID == "" {
		return errors.New("id is empty")
	}
	u, err := url.Parse(b.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("url %q: want http(s)://host[:port][/prefix]", b.URL)
	}
	return checkOutputDir(b.OutputDir)
}

// checkOutputDir accepts "" or an absolute path to an existing directory.
func checkOutputDir(dir string) error {
	if dir == "" {
		return nil
	}
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("output_dir %q: want an absolute path", dir)
	}
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("output_dir: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("output_dir %q: not a directory", dir)
	}
	return nil
}

func defaultHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	return &http.Client{Transport: tr}
}

func randomID() string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

type nopHub struct{}

func (nopHub) Publish(events.Event) {}
