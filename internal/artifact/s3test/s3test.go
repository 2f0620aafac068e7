// Package s3test gives tests a real S3-compatible server: the Versity S3
// Gateway (versitygw) with its posix backend, started on a free loopback
// port over a temporary directory. A bucket is a directory of that
// directory, so each test gets a bucket of its own in a mkdir, and tests
// run in parallel.
//
// Use it from TestMain:
//
//	var gw *s3test.Server
//	var gwErr error
//
//	func TestMain(m *testing.M) {
//		gw, gwErr = s3test.Start(context.Background())
//		code := m.Run()
//		gw.Close()
//		os.Exit(code)
//	}
//
//	func TestX(t *testing.T) {
//		bucket := gw.NewBucket(t, gwErr) // skips, or fails in CI, without versitygw
//		…
//	}
//
// The binary is found as EnvBinary names it, else as "versitygw" on PATH,
// in $GOBIN, or in $GOPATH/bin (default ~/go/bin), where
// `go install github.com/versity/versitygw/cmd/versitygw@v1.8.0` puts it.
package s3test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"testing"
)

// EnvBinary names the environment variable that may give the versitygw
// binary's path.
const EnvBinary = "COMFYGATE_TEST_VERSITYGW"

// ErrNoGateway: the versitygw binary was not found.
var ErrNoGateway = errors.New("no versitygw binary: install it with `go install github.com/versity/versitygw/cmd/versitygw@v1.8.0` or set " + EnvBinary)

// Fixed credentials of the gateway's root user; the server listens on
// loopback only and lives as long as the test binary.
const (
	AccessKey = "comfygate-test"
	SecretKey = "comfygate-test-secret"
	Region    = "us-east-1"
)

// Server is a running versitygw.
type Server struct {
	// Endpoint is the server's base URL, http://127.0.0.1:PORT.
	Endpoint string
	proc     *process
}

// Start starts versitygw on a free loopback port over a new temporary
// directory. Without the binary it returns ErrNoGateway.
func Start(ctx context.Context) (*Server, error) {
	bin, err := findBinary()
	if err != nil {
		return nil, err
	}
	p, err := startProcess(ctx, bin)
	if err != nil {
		return nil, err
	}
	return &Server{Endpoint: p.endpoint(), proc: p}, nil
}

// Close stops the server and removes its directory. A nil Server is fine.
func (s *Server) Close() error {
	if s == nil || s.proc == nil {
		return nil
	}
	return s.proc.stop()
}

// NewBucket creates an empty bucket for tb, removed when tb ends, and
// returns its name. startErr is Start's error: without versitygw the test
// is skipped, or fails if the CI environment variable is "true".
func (s *Server) NewBucket(tb testing.TB, startErr error) string {
	tb.Helper()
	if startErr != nil {
		Unavailable(tb, startErr)
	}
	name := "t-" + randomHex(8)
	dir := filepath.Join(s.proc.root, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		tb.Fatalf("s3test: create bucket: %v", err)
	}
	tb.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			tb.Errorf("s3test: remove bucket %s: %v", name, err)
		}
	})
	return name
}

// BucketDir is where the bucket's objects live on disk, for tests that
// damage or remove them behind the server's back.
func (s *Server) BucketDir(bucket string) string {
	return filepath.Join(s.proc.root, bucket)
}

// URL is the artifact location of bucket and prefix on this server, in
// the form comfygate's --artifacts takes. Credentials are not in it: set
// AWS_ACCESS_KEY_ID to AccessKey and AWS_SECRET_ACCESS_KEY to SecretKey.
func (s *Server) URL(bucket, prefix string) string {
	q := url.Values{"endpoint": {s.Endpoint}, "region": {Region}, "use_path_style": {"true"}}
	return (&url.URL{Scheme: "s3", Host: bucket, Path: "/" + prefix, RawQuery: q.Encode()}).String()
}

// Unavailable reports that versitygw could not be had: a failure in CI
// (CI=true), where the S3 tests must run, and a skip elsewhere.
func Unavailable(tb testing.TB, err error) {
	tb.Helper()
	if os.Getenv("CI") == "true" || !errors.Is(err, ErrNoGateway) {
		tb.Fatalf("s3test: %v", err)
	} else {
		tb.Skipf("s3test: %v", err)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
