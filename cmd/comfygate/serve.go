package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/peterbourgon/ff/v4"
	"github.com/peterbourgon/ff/v4/ffyaml"

	"github.com/comfygate/comfygate/internal/server"
)

// envPrefix must match the prefix main.go gives ff: the serve flag set
// parses the environment itself so that a config file can sit below it.
const envPrefix = "COMFYGATE"

// serveFlags are the settings of serve and demo, from flags, environment
// variables (COMFYGATE_LISTEN, …) and a config file, in that precedence.
type serveFlags struct {
	listen, data, config       string
	artifacts, database        string
	backends, apiKeys, hosts   multiFlag
	sims, maxAttempts          int
	maxCrashRetries            int
	stallTimeout               time.Duration
	maxQueued                  int
	maxUploadMB                int
	limits                     requestFlags
	allowURLs, allowPrivate    bool
	allowLoopback              bool
	webhookSecrets             multiFlag
	webhookRetryBase           time.Duration
	webhookRetryFor            time.Duration
	webhookTimeout             time.Duration
	stepDelay, shutdownTimeout time.Duration
	logLevel, logFormat        string
	corsOrigins                multiFlag
	retain                     time.Duration
	proxyAllow                 multiFlag
	metricsKey                 string
}

// newServeFlags defines the flags on a set named name; defaults differ
// between serve and demo.
func newServeFlags(name string, d serveFlags) (*serveFlags, ff.Flags) {
	f := &serveFlags{}
	fs := ff.NewFlagSet(name)
	fs.StringVar(&f.listen, 0, "listen", d.listen, "address to listen on (host:port; port 0 picks one)")
	fs.StringVar(&f.data, 0, "data", d.data, "data directory: database, artifacts, workflows")
	fs.StringVar(&f.artifacts, 0, "artifacts", "", "artifact store: a directory, or s3://BUCKET/PREFIX?endpoint=URL&region=R&use_path_style=true with AWS_* credentials (default: the data directory's artifacts/)")
	fs.StringVar(&f.database, 0, "database", "", "job database: a SQLite file (or sqlite:PATH), or postgres://USER:PASS@HOST/DB?pool_max_conns=N shared by several replicas (default: the data directory's comfygate.db)")
	addList(fs, "backend", "URL", &f.backends, "ComfyUI server: base URL, or id=URL; add ,output_dir=/abs/path for one on this host, whose outputs are then read from disk and removed (repeatable; comma-separated in COMFYGATE_BACKEND)")
	fs.IntVar(&f.sims, 0, "sim", d.sims, "start N in-process ComfyUI simulators as backends")
	fs.DurationVar(&f.stepDelay, 0, "sim-step-delay", d.stepDelay, "time one sampler step takes on the simulators")
	addList(fs, "api-key", "KEY", &f.apiKeys, "API key as id:key, or id:sha256:<hex> of the key; add :admin to let it change the fleet (repeatable); none: no authentication, everyone is admin")
	fs.IntVar(&f.maxAttempts, 0, "max-attempts", d.maxAttempts, "dispatches per job before it fails")
	fs.IntVar(&f.maxCrashRetries, 0, "max-crash-retries", d.maxCrashRetries, "retries of a job after a backend died while running it; one more death fails it as a suspected crasher")
	fs.DurationVar(&f.stallTimeout, 0, "stall-timeout", d.stallTimeout, "a running job its backend says nothing about for this long is interrupted and retried elsewhere (raise it for video)")
	fs.IntVar(&f.maxQueued, 0, "max-queued", d.maxQueued, "backlog above which new jobs get 503")
	fs.IntVar(&f.maxUploadMB, 0, "max-upload-mb", d.maxUploadMB, "largest upload or fetched input in MiB")
	f.limits.define(fs, d.limits)
	fs.BoolVar(&f.allowURLs, 0, "allow-url-inputs", "let image parameters be http(s) URLs that comfygate fetches")
	addList(fs, "allowed-host", "HOST", &f.hosts, "host URL inputs may come from, or *.domain (repeatable; default: any public host)")
	fs.BoolVar(&f.allowPrivate, 0, "allow-private-urls", "let URL inputs and webhooks reach loopback and private networks")
	fs.BoolVar(&f.allowLoopback, 0, "allow-loopback-urls", "let URL inputs and webhooks reach this host (loopback), and no other private network")
	addList(fs, "webhook-secret", "whsec_…", &f.webhookSecrets, "secret that signs webhooks (Standard Webhooks, whsec_<base64>); give a second to rotate: both signatures are sent (default: generated once, kept in the database, shown to admins at GET /v1/webhooks/secret)")
	fs.DurationVar(&f.webhookRetryBase, 0, "webhook-retry-base", d.webhookRetryBase, "first webhook retry delay; each next one doubles (up to 1h), with jitter")
	fs.DurationVar(&f.webhookRetryFor, 0, "webhook-retry-for", d.webhookRetryFor, "how long a webhook message is retried before it is given up")
	fs.DurationVar(&f.webhookTimeout, 0, "webhook-timeout", d.webhookTimeout, "time one webhook attempt may take, answer included")
	addList(fs, "proxy-allow", "PREFIX", &f.proxyAllow, "backend route prefix user keys may reach through the ComfyUI-compatible proxy, e.g. /my_node (repeatable; default: only admin keys reach backend routes comfygate does not serve)")
	fs.StringVar(&f.metricsKey, 0, "metrics-key", "", "key that opens /metrics (and nothing else), or sha256:<hex> of it; with API keys, /metrics otherwise needs an admin key")
	addList(fs, "cors-origin", "ORIGIN", &f.corsOrigins, "web origin whose pages may call the API from a browser, e.g. https://app.example.com, https://*.example.com, or * for any (repeatable; default: none)")
	if _, err := fs.AddFlag(ff.FlagConfig{LongName: "retain", Placeholder: "DURATION", Value: retainFlag{&f.retain},
		Usage: "delete finished jobs, and the files only they used, this long after they ended: 30d, 36h; 0 keeps them"}); err != nil {
		panic(err)
	}
	fs.DurationVar(&f.shutdownTimeout, 0, "shutdown-timeout", d.shutdownTimeout, "graceful shutdown budget")
	addEnum(fs, "log-level", "log level", &f.logLevel, "info", "debug", "warn", "error")
	addEnum(fs, "log-format", "log format", &f.logFormat, "text", "json")
	fs.StringVar(&f.config, 0, "config", "", "YAML or JSON config file; its keys are flag names (listen, backend: [...], …)")
	return f, configFlags{fs}
}

// configFlags parses a flag set with the config file below the environment
// (flags > env > file > defaults). main.go's options cannot name the file
// flag of one verb, so the verb's flag set does it.
type configFlags struct{ *ff.FlagSet }

func (c configFlags) Parse(args []string) error {
	return ff.Parse(c.FlagSet, args,
		ff.WithEnvVarPrefix(envPrefix),
		ff.WithConfigFileFlag("config"),
		ff.WithConfigFileParser(ffyaml.Parse))
}

// multiFlag collects repeatable values; each value may hold several,
// comma-separated, as environment variables do.
type multiFlag []string

func (m *multiFlag) Set(s string) error {
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*m = append(*m, v)
		}
	}
	return nil
}

func (m *multiFlag) String() string { return strings.Join(*m, ",") }

// addList defines a repeatable flag with a placeholder for the help text.
func addList(fs *ff.FlagSet, name, placeholder string, m *multiFlag, usage string) {
	if _, err := fs.AddFlag(ff.FlagConfig{LongName: name, Placeholder: placeholder, Value: m, Usage: usage}); err != nil {
		panic(err) // a duplicate or malformed name is a bug in this file
	}
}

// serverConfig turns the settings into a server.Config.
func (f *serveFlags) serverConfig(stderr io.Writer) (server.Config, error) {
	cfg := server.Config{
		Listen: f.listen, DataDir: f.data, Artifacts: f.artifacts, Database: f.database, SimBackends: f.sims,
		MaxAttempts: f.maxAttempts, MaxQueued: f.maxQueued, MaxUploadBytes: int64(f.maxUploadMB) << 20,
		AllowURLInputs: f.allowURLs, AllowedHosts: f.hosts, AllowPrivateURLs: f.allowPrivate,
		AllowLoopbackURLs: f.allowLoopback, WebhookSecrets: f.webhookSecrets,
		WebhookRetryBase: f.webhookRetryBase, WebhookRetryFor: f.webhookRetryFor, WebhookTimeout: f.webhookTimeout,
		ShutdownTimeout: f.shutdownTimeout, Version: buildVersion(),
		MaxCrashRetries: f.maxCrashRetries, StallTimeout: f.stallTimeout,
		Limits: f.limits.config(),
	}
	switch {
	case f.maxCrashRetries < 0:
		return cfg, fmt.Errorf("max-crash-retries %d: must not be negative", f.maxCrashRetries)
	case f.maxCrashRetries == 0:
		cfg.MaxCrashRetries = server.NoCrashRetries // 0 on the command line means none, not the default
	}
	if f.stallTimeout <= 0 {
		return cfg, fmt.Errorf("stall-timeout %s: must be positive", f.stallTimeout)
	}
	cfg.Sim.StepDelay = f.stepDelay
	cfg.CORSOrigins = f.corsOrigins
	cfg.Retain = f.retain
	cfg.ProxyAllow = f.proxyAllow
	if f.metricsKey != "" {
		h, err := server.ParseMetricsKey(f.metricsKey)
		if err != nil {
			return cfg, err
		}
		cfg.MetricsKeyHash = h
	}
	backends, err := parseBackends(f.backends)
	if err != nil {
		return cfg, err
	}
	cfg.Backends = backends
	for _, k := range f.apiKeys {
		key, err := server.ParseAPIKey(k)
		if err != nil {
			return cfg, err
		}
		cfg.APIKeys = append(cfg.APIKeys, key)
	}
	log, err := newLogger(stderr, f.logLevel, f.logFormat)
	cfg.Logger = log
	return cfg, err
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

// serveDefaults are serve's defaults where they are not the zero value.
func serveDefaults() serveFlags {
	return serveFlags{listen: server.DefaultListen, data: server.DefaultDataDir,
		maxAttempts: server.DefaultMaxAttempts, maxQueued: server.DefaultMaxQueued,
		maxCrashRetries: server.DefaultMaxCrashRetries, stallTimeout: server.DefaultStallTimeout,
		maxUploadMB: server.DefaultMaxUploadBytes >> 20, shutdownTimeout: server.DefaultShutdownTimeout,
		webhookRetryBase: server.DefaultWebhookRetryBase, webhookRetryFor: server.DefaultWebhookRetryFor,
		webhookTimeout: server.DefaultWebhookTimeout, limits: defaultRequestFlags()}
}

func newServeCommand(stdout, stderr io.Writer) *ff.Command {
	f, fs := newServeFlags("serve", serveDefaults())
	return &ff.Command{
		Name:      "serve",
		Usage:     "comfygate serve [flags]",
		ShortHelp: "run the gateway",
		LongHelp: "Serves the REST API, the ComfyUI-compatible API and the web UI on one listener, " +
			"dispatching jobs to the ComfyUI backends. Every flag can also be set as COMFYGATE_<FLAG> " +
			"(e.g. COMFYGATE_BACKEND=http://a:8188,http://b:8188) or in the --config file.",
		Flags: fs,
		Exec: func(ctx context.Context, _ []string) error {
			cfg, err := f.serverConfig(stderr)
			if err != nil {
				return err
			}
			return runServer(ctx, cfg, stdout)
		},
	}
}

// runServer starts the server, says where it listens, and serves until ctx
// is done.
func runServer(ctx context.Context, cfg server.Config, stdout io.Writer) error {
	srv, err := server.New(cfg)
	if err != nil {
		return err
	}
	if err := srv.Start(ctx); err != nil {
		return err
	}
	fmt.Fprint(stdout, listeningText(srv.Addr(), net.InterfaceAddrs))
	return srv.Run(ctx)
}
