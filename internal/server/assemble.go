package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/comfygate/comfygate/internal/artifact"
	"github.com/comfygate/comfygate/internal/comfyapi"
	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/fleet"
	"github.com/comfygate/comfygate/internal/gateway"
	"github.com/comfygate/comfygate/internal/httpapi"
	"github.com/comfygate/comfygate/internal/inflight"
	"github.com/comfygate/comfygate/internal/safefetch"
)

// parts are the components of a started server, in start order.
type parts struct {
	instanceID string
	backends   []fleet.BackendConfig

	lock     *dirLock
	engine   string // engineSQLite or enginePostgres
	store    dataStore
	replicas *replicas // nil with SQLite: one process
	arts     artifact.Backend
	hub      *events.Hub
	sims     *simFleet
	fleet    *fleet.Fleet
	tap      *comfyapi.TapLater // the fleet's tap, pointing at comfy once it exists
	comfy    *comfyapi.Handler  // the ComfyUI-compatible surface
	names    *comfyapi.Names    // the ComfyUI surface's file names, which every surface's inputs may use
	svc      *gateway.Service
	watch    *gateway.DirWatcher // the workflows/ directory
	keep     *gateway.Retention  // deletes old jobs; nil without Config.Retain
	api      *httpapi.Server
	root     http.Handler // every surface

	fetcher  *safefetch.Fetcher // nil when URL inputs are off
	inflight *inflight.Limiter  // JSON body bytes in flight per key, every surface
	webhooks webhookParts

	reg       *prometheus.Registry
	ln        net.Listener
	http      *http.Server
	serveDone chan struct{} // closed when the HTTP server's goroutine returns
	failed    chan error    // cap 1: the server broke on its own
	stopped   chan struct{} // closed when stop begins
	reqCancel context.CancelFunc
}

// assemble starts every part. On error it stops the ones already started,
// so nothing is left running.
func assemble(ctx context.Context, cfg Config) (_ *parts, err error) {
	p := &parts{reg: newRegistry(), failed: make(chan error, 1), stopped: make(chan struct{}), serveDone: make(chan struct{})}
	defer func() {
		if err != nil {
			close(p.serveDone) // nothing serves yet
			err = errors.Join(err, p.stop(context.WithoutCancel(ctx), cfg.Logger))
		}
	}()
	if err := p.openData(ctx, cfg); err != nil {
		return nil, err
	}
	if err := p.startFleet(ctx, cfg); err != nil {
		return nil, err
	}
	if err := p.startWebhooks(ctx, cfg); err != nil {
		return nil, err
	}
	if err := p.startService(ctx, cfg); err != nil {
		return nil, err
	}
	if err := p.listen(cfg); err != nil {
		return nil, err
	}
	p.serve()
	return p, nil
}

// openData takes the data directory and opens what lives in it.
func (p *parts) openData(ctx context.Context, cfg Config) error {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	lock, err := lockDataDir(cfg.path(lockFile))
	if err != nil {
		return err
	}
	p.lock = lock
	p.instanceID = cfg.InstanceID
	if p.instanceID == "" {
		if p.instanceID, err = loadInstanceID(cfg.path(instanceFile)); err != nil {
			return err
		}
	}
	db, err := parseDatabase(cfg.Database, cfg.DataDir)
	if err != nil {
		return err
	}
	store, pg, err := openStore(ctx, db, cfg.Logger)
	if err != nil {
		return err
	}
	p.store, p.engine = store, db.engine
	if err := registerReplicaInfo(p.reg, p.instanceID, db.engine); err != nil {
		return err
	}
	// An S3 store stages uploads on disk (see artifact.S3.Put): beside the
	// local store's place, not in a /tmp that may be RAM.
	artOpts := artifact.OpenOptions{Dir: cfg.path(artifactsDir), TempDir: cfg.path(artifactsDir, "tmp"), Logger: cfg.Logger}
	if p.arts, err = artifact.Open(ctx, cfg.Artifacts, artOpts); err != nil {
		return fmt.Errorf("open artifacts: %w", err)
	}
	p.tap = &comfyapi.TapLater{}
	hubOpts := events.Options{Replayer: gateway.Replayer(p.store), Logger: cfg.Logger}
	if pg != nil {
		if p.replicas, err = newReplicas(pg, p.instanceID, p.tap, cfg.Logger); err != nil {
			return err
		}
		hubOpts.Forward = p.replicas.link
	}
	p.hub = events.NewHub(hubOpts)
	if p.replicas != nil {
		p.replicas.link.Bind(p.hub)
		if err := p.replicas.metrics(p.replicaMetrics()); err != nil {
			return err
		}
		return p.replicas.start(ctx)
	}
	return nil
}

// replicaMetrics is where this process's own metrics are registered: each
// carries a replica label with the instance id, so that the series of
// several replicas stay apart wherever they are gathered.
func (p *parts) replicaMetrics() prometheus.Registerer {
	return prometheus.WrapRegistererWith(prometheus.Labels{"replica": p.instanceID}, p.reg)
}

// startFleet starts the simulators, then the fleet over them and the
// configured backends. The fleet's Start re-attaches jobs left running.
func (p *parts) startFleet(ctx context.Context, cfg Config) error {
	for _, b := range cfg.Backends {
		p.backends = append(p.backends, fleet.BackendConfig{ID: b.ID, URL: b.URL, OutputDir: b.OutputDir})
	}
	if cfg.SimBackends > 0 {
		// A simulator that crashes (POST /sim/faults) is a backend going
		// away, which the fleet is there to survive: it is logged, not fatal.
		report := func(err error) { cfg.Logger.Warn("simulator stopped", "err", err) }
		sims, err := startSims(ctx, cfg.SimBackends, cfg.Sim, cfg.path(simDir), report)
		if err != nil {
			return err
		}
		p.sims = sims
		for i, u := range sims.urls {
			// In-process simulators share this host: their outputs are
			// read from disk, as a co-located ComfyUI's can be.
			p.backends = append(p.backends, fleet.BackendConfig{ID: fmt.Sprintf("%s%d", simIDPrefix, i+1), URL: u,
				OutputDir: sims.outputDir(i)})
		}
	}
	if err := pruneSims(ctx, p.store, p.engine, p.backends); err != nil {
		return err
	}
	// The names the ComfyUI-compatible surface shows for a job's outputs
	// are stored with the job's end.
	p.names = comfyapi.NewNames(p.store)
	fcfg := fleet.Config{
		Backends: p.backends, Store: p.store, Registry: p.store, Artifacts: blobStore{p.arts}, Hub: p.hub, Tap: p.tap, EndNames: p.names,
		Logger: cfg.Logger, Metrics: p.replicaMetrics(), InstanceID: p.instanceID, MaxAttempts: cfg.MaxAttempts,
		MaxCrashRetries: cfg.MaxCrashRetries, StallTimeout: cfg.StallTimeout,
	}
	if p.replicas != nil {
		fcfg.Tap, fcfg.Peers = p.replicas.tap, p.replicas.fleetPeers()
	}
	f, err := fleet.New(fcfg)
	if err != nil {
		return fmt.Errorf("fleet: %w", err)
	}
	// The fleet lives until Stop, not until the end of Start's ctx.
	if err := f.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("start fleet: %w", err)
	}
	p.fleet = f
	p.replicas.hearFleet(f)
	return nil
}

// startService builds the use cases and the REST surface over them, and
// stores the example workflows if asked to.
func (p *parts) startService(ctx context.Context, cfg Config) error {
	fetcher, err := newFetcher(cfg)
	if err != nil {
		return err
	}
	p.inflight = cfg.Limits.limiter()
	gcfg := gateway.Config{
		Store: p.store, Artifacts: p.arts, Hub: p.hub, Fleet: fleetAdapter{p.fleet}, Admin: fleetAdapter{p.fleet}, Names: p.names,
		Logger: cfg.Logger, MaxAttempts: cfg.MaxAttempts, Reserver: fleetAdapter{p.fleet},
		MaxQueued: cfg.MaxQueued, MaxUploadBytes: cfg.MaxUploadBytes, CheckWebhook: p.webhooks.policy.CheckURL,
		Admins: adminIDs(cfg.APIKeys), ProxyAllow: cfg.ProxyAllow,
	}
	if fetcher != nil { // a nil *Fetcher in the interface would not read as "off"
		gcfg.Fetcher, p.fetcher = fetcher, fetcher
	}
	svc, err := gateway.New(gcfg)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	p.svc = svc
	if cfg.Examples {
		if err := storeExamples(ctx, svc, p.fleet.Ready, cfg.Logger); err != nil {
			return err
		}
	}
	if err := p.startRetention(ctx, cfg); err != nil {
		return err
	}
	if p.watch, err = svc.WatchDir(ctx, filepath.Join(cfg.DataDir, workflowsDir), 0); err != nil {
		return err
	}
	p.api, err = httpapi.New(httpapi.Gateway(svc), httpapi.Config{
		Logger: cfg.Logger, Registry: p.reg, Version: cfg.Version,
		APIKeys: cfg.APIKeys, MetricsKeyHash: cfg.MetricsKeyHash, MaxUploadBytes: cfg.MaxUploadBytes, InFlight: p.inflight,
		Webhooks: webhookAPI{Service: svc, parts: &p.webhooks},
	})
	if err != nil {
		return fmt.Errorf("http api: %w", err)
	}
	// The surfaces that authenticate through a callback share the REST
	// API's key check.
	owner := httpapi.Authenticator(cfg.APIKeys)
	if err := p.startComfy(ctx, cfg, owner); err != nil {
		return err
	}
	if p.root, err = rootHandler(p.api, p.comfy, svc, owner, p.inflight, cfg.Logger); err != nil {
		return err
	}
	p.root, err = httpapi.CORS(cfg.CORSOrigins, p.root) // outermost: it answers preflights for every surface
	return err
}

// startRetention starts deleting old jobs when Config.Retain asks for it.
func (p *parts) startRetention(ctx context.Context, cfg Config) error {
	if cfg.Retain <= 0 {
		return nil
	}
	keep, err := p.svc.NewRetention(gateway.RetentionConfig{MaxAge: cfg.Retain, Metrics: p.reg})
	if err != nil {
		return err
	}
	if err := keep.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("start retention: %w", err)
	}
	p.keep = keep
	return nil
}

func (p *parts) listen(cfg Config) error {
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	p.ln = ln
	base, cancel := context.WithCancel(context.Background())
	p.reqCancel = cancel
	p.http = newHTTPServer(p.root, base, cfg.Limits, cfg.Logger)
	p.http.RegisterOnShutdown(p.api.Drain)
	return nil
}

// serve runs the HTTP server on its own goroutine; stop waits for it.
func (p *parts) serve() {
	go func() {
		defer close(p.serveDone)
		if err := p.http.Serve(p.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			p.fail(fmt.Errorf("serve http: %w", err))
		}
	}()
}

func (p *parts) fail(err error) {
	select {
	case p.failed <- err:
	default: // the first failure is enough to stop the server
	}
}

func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}
