// Package pgtest gives tests a real PostgreSQL: a throwaway server started
// from the installed binaries (initdb + postgres on a temporary directory and
// a free port), or the server named by COMFYGATE_TEST_POSTGRES_DSN. Each test
// gets a namespace of its own, so tests run in parallel.
//
// The namespace is a schema (the DSN sets search_path), not a database:
// CREATE DATABASE copies a template and takes about half a second, which
// across a conformance suite of a hundred tests dominated its run time;
// CREATE SCHEMA takes milliseconds and isolates unqualified names as well.
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
//		dsn := pg.NewDSN(t, pgErr) // skips, or fails in CI, without PostgreSQL
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
	dsn   string // administrative DSN
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

// NewDSN creates an empty schema for tb, dropped when tb ends, and returns
// a DSN whose search_path puts it first, so that unqualified names (all of
// ours) live in it. startErr is Start's error: when PostgreSQL is missing the
// test is skipped, or fails if the CI environment variable is "true".
func (s *Server) NewDSN(tb testing.TB, startErr error) string {
	tb.Helper()
	if startErr != nil {
		Unavailable(tb, startErr)
	}
	schema := "t_" + randomHex(8)
	ctx := context.Background()
	if _, err := s.admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("pgtest: create schema: %v", err)
	}
	tb.Cleanup(func() {
		if _, err := s.admin.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("pgtest: drop schema %s: %v", schema, err)
		}
	})
	dsn, err := withSearchPath(s.dsn, schema)
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
	} else {
		tb.Skipf("pgtest: %v", err)
	}
}

// withSearchPath returns dsn (URL or key=value form) with search_path set
// to schema; pgx sends it as a run-time parameter at connect.
func withSearchPath(dsn, schema string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("parse %s: %w", EnvDSN, err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	return dsn + " search_path=" + schema, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
