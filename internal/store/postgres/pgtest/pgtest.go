// Package pgtest gives tests a real PostgreSQL: a throwaway server started
// from the installed binaries (initdb + postgres on a temporary directory and
// a free port), or the server named by COMFYGATE_TEST_POSTGRES_DSN. Each test
// gets a database of its own, so tests run in parallel.
//
// Use it from TestMain:
//
//	var pg *pgtest.Server
//	var pgErr error
//
//	func TestMain(m *testing.M) {
//		pg, pgErr = pgtest.Start(context.Background())
//		code := m.Run()
//		pg.Close()
//		os.Exit(code)
//	}
//
//	func TestX(t *testing.T) {
//		dsn := pg.NewDatabase(t, pgErr) // skips, or fails in CI, without PostgreSQL
//		…
//	}
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

// EnvDSN names the environment variable with the DSN of an existing server
// to use instead of starting one. Its user must be allowed to create
// databases.
const EnvDSN = "COMFYGATE_TEST_POSTGRES_DSN"

// ErrNoPostgres: neither EnvDSN nor the PostgreSQL binaries are available.
var ErrNoPostgres = errors.New("no PostgreSQL available: install it (initdb and postgres on PATH or in /usr/lib/postgresql/*/bin) or set " + EnvDSN)

// Server is a PostgreSQL server for tests.
type Server struct {
	dsn   string      // administrative DSN (database "postgres")
	admin *pgxpool.Pool
	proc  *process // nil when using EnvDSN
}

// Start returns a server for tests: the one at EnvDSN if set, else a new one
// started from the installed binaries. With neither it returns ErrNoPostgres.
func Start(ctx context.Context) (*Server, error) {
	s := &Server{dsn: os.Getenv(EnvDSN)}
	if s.dsn == "" {
		p, err := startProcess(ctx)
		if err != nil {
			return nil, err
		}
		s.proc, s.dsn = p, p.dsn("postgres")
	}
	admin, err := pgxpool.New(ctx, s.dsn)
	if err == nil {
		err = admin.Ping(ctx)
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("pgtest: connect: %w", err), s.Close())
	}
	s.admin = admin
	return s, nil
}

// Close drops the connections and stops the server if Start started it.
// A nil Server is fine.
func (s *Server) Close() error {
	if s == nil {
		return nil
	}
	if s.admin != nil {
		s.admin.Close()
	}
	if s.proc != nil {
		return s.proc.stop()
	}
	return nil
}

// NewDatabase creates an empty database for tb, dropped when tb ends, and
// returns its DSN. startErr is Start's error: when PostgreSQL is missing the
// test is skipped, or fails if the CI environment variable is "true".
func (s *Server) NewDatabase(tb testing.TB, startErr error) string {
	tb.Helper()
	if startErr != nil {
		Unavailable(tb, startErr)
	}
	name := "t_" + randomHex(8)
	ctx := context.Background()
	if _, err := s.admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("pgtest: create database: %v", err)
	}
	tb.Cleanup(func() {
		if _, err := s.admin.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	dsn, err := withDatabase(s.dsn, name)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	return dsn
}

// Unavailable reports that PostgreSQL could not be had: a failure in CI
// (CI=true), where the suite must run, and a skip elsewhere.
func Unavailable(tb testing.TB, err error) {
	tb.Helper()
	if os.Getenv("CI") == "true" || !errors.Is(err, ErrNoPostgres) {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Skipf("pgtest: %v", err)
}

// withDatabase returns dsn (URL or key=value form) naming database name.
func withDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("parse %s: %w", EnvDSN, err)
		}
		u.Path = "/" + name
		return u.String(), nil
	}
	return dsn + " dbname=" + name, nil // a later key overrides an earlier one
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
