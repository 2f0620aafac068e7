package server

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/internal/store/postgres"
	"github.com/comfygate/comfygate/internal/store/sqlite"
)

// dataStore is what the server needs of a job store; both engines' stores
// are one.
type dataStore interface {
	job.Store
	job.ComfyFileStore
	job.BackendStore
	job.WebhookStore
}

var (
	_ dataStore = (*sqlite.Store)(nil)
	_ dataStore = (*postgres.Store)(nil)
)

// Database engines a Config.Database names.
const (
	engineSQLite   = "sqlite"
	enginePostgres = "postgres"
)

// database is what Config.Database names: an engine and where its data is.
type database struct {
	engine string
	target string // SQLite: a file path; PostgreSQL: the URL as given
}

// parseDatabase reads Config.Database: "" (SQLite in the data directory),
// "sqlite:PATH" or a plain path (SQLite), or a postgres:// or
// postgresql:// URL (PostgreSQL). A relative SQLite path is relative to
// the working directory, as on the command line.
func parseDatabase(s, dataDir string) (database, error) {
	switch {
	case s == "":
		return database{engineSQLite, filepath.Join(dataDir, dbFile)}, nil
	case strings.HasPrefix(s, "postgres://"), strings.HasPrefix(s, "postgresql://"):
		return database{enginePostgres, s}, nil
	case strings.HasPrefix(s, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(s, "sqlite:"), "//")
		if path == "" {
			return database{}, fmt.Errorf("database %q: sqlite: needs a file path", s)
		}
		return database{engineSQLite, path}, nil
	case strings.Contains(s, "://"):
		return database{}, fmt.Errorf("database %q: want a file path, sqlite:PATH, or a postgres:// URL", redactURL(s))
	}
	return database{engineSQLite, s}, nil
}

// redactURL hides a password in a URL for error messages and logs.
func redactURL(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return s
	}
	userinfo, host, ok := strings.Cut(rest, "@")
	if !ok {
		return s
	}
	user, _, hasPass := strings.Cut(userinfo, ":")
	if !hasPass {
		return s
	}
	return scheme + "://" + user + ":xxxxx@" + host
}

// openStore opens the job store db names. pg is the PostgreSQL store, nil
// with SQLite: the replicas' bus needs its connections.
func openStore(ctx context.Context, db database, log *slog.Logger) (s dataStore, pg *postgres.Store, err error) {
	switch db.engine {
	case enginePostgres:
		pg, err = postgres.Open(ctx, postgres.Config{DSN: db.target, Logger: log})
		if err != nil {
			return nil, nil, fmt.Errorf("open store: %s: %w", redactURL(db.target), err)
		}
		return pg, pg, nil
	default:
		st, err := sqlite.Open(ctx, sqlite.Config{Path: db.target, Logger: log})
		if err != nil {
			return nil, nil, fmt.Errorf("open store: %w", err)
		}
		return st, nil, nil
	}
}

// registerReplicaInfo exports which replica this is and which engine it
// runs on, as Prometheus info metrics do.
func registerReplicaInfo(reg prometheus.Registerer, id, engine string) error {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "comfygate", Name: "replica_info",
		Help:        "Always 1: the replica (instance id) this process is, and its database engine.",
		ConstLabels: prometheus.Labels{"replica": id, "database": engine},
	})
	g.Set(1)
	if err := reg.Register(g); err != nil {
		return fmt.Errorf("replica metrics: %w", err)
	}
	return nil
}
