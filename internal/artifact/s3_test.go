package artifact_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/comfygate/comfygate/internal/artifact"
	"github.com/comfygate/comfygate/internal/artifact/artifacttest"
	"github.com/comfygate/comfygate/internal/artifact/s3test"
)

// objectPath is where the test server keeps a blob of the store made by
// s3Config, which puts it under the prefix "comfygate/test".
func objectPath(bucket, id string) string {
	return filepath.Join(gw.BucketDir(bucket), "comfygate", "test", id[:2], id[2:4], id)
}

func TestS3Layout(t *testing.T) {
	t.Parallel()
	cfg := s3Config(t, artifacttest.Options{})
	s := openS3(t, cfg)
	info := artifacttest.Put(t, s, []byte("where am I"), artifact.PutOptions{})
	got, err := os.ReadFile(objectPath(cfg.Bucket, info.ID))
	if err != nil || string(got) != "where am I" {
		t.Errorf("object under <prefix>/ab/cd/<id>: %q, %v", got, err)
	}
}

// Content-addressed objects never change, so one of the wrong size was
// damaged; the next Put of its content replaces it.
func TestS3RepairsDamagedBlob(t *testing.T) {
	t.Parallel()
	cfg := s3Config(t, artifacttest.Options{})
	s := openS3(t, cfg)
	content := []byte("precious output")
	info := artifacttest.Put(t, s, content, artifact.PutOptions{})
	if err := os.Truncate(objectPath(cfg.Bucket, info.ID), 3); err != nil {
		t.Fatal(err)
	}
	artifacttest.Put(t, s, content, artifact.PutOptions{})
	if got, err := os.ReadFile(objectPath(cfg.Bucket, info.ID)); !bytes.Equal(got, content) {
		t.Errorf("object = %q, %v after re-Put; want %q", got, err, content)
	}
}

// Staging files go once a Put ends, whether it stored, deduplicated or
// failed, in one PUT or in parts.
func TestS3StagingLeavesNoFiles(t *testing.T) {
	t.Parallel()
	cfg := s3Config(t, artifacttest.Options{})
	s := openS3(t, cfg)
	ctx := t.Context()
	artifacttest.Put(t, s, []byte("small"), artifact.PutOptions{})
	artifacttest.Put(t, s, []byte("small"), artifact.PutOptions{})
	if _, err := s.Put(ctx, artifacttest.NewPattern(testPartSize+1, 9), artifact.PutOptions{}); err != nil {
		t.Fatalf("multipart Put: %v", err)
	}
	if _, err := s.Put(ctx, strings.NewReader("too large"), artifact.PutOptions{MaxSize: 3}); !errors.Is(err, artifact.ErrTooLarge) {
		t.Fatalf("Put over MaxSize: %v", err)
	}
	entries, err := os.ReadDir(cfg.TempDir)
	if err != nil || len(entries) != 0 {
		t.Errorf("temp dir holds %d entries (%v), want none", len(entries), err)
	}
}

func TestS3ReadyCachesAnswer(t *testing.T) {
	t.Parallel()
	cfg := s3Config(t, artifacttest.Options{})
	cfg.ReadyTTL = time.Hour
	cached := openS3(t, cfg)
	if err := cached.Ready(t.Context()); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	if err := os.RemoveAll(gw.BucketDir(cfg.Bucket)); err != nil {
		t.Fatal(err)
	}
	if err := cached.Ready(t.Context()); err != nil {
		t.Errorf("Ready within its TTL asked the server again: %v", err)
	}
	cfg.ReadyTTL = 0 // the default, 2s
	fresh := openS3(t, cfg)
	err := fresh.Ready(t.Context())
	if err == nil || !strings.Contains(err.Error(), `bucket "`+cfg.Bucket+`" does not exist`) {
		t.Errorf("Ready without the bucket = %v, want it to say the bucket does not exist", err)
	}
}

// closedEndpoint is the URL of a loopback port nothing listens on.
func closedEndpoint(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// A server that does not answer is not "not found": callers must not
// treat an outage as a missing blob.
func TestS3Unreachable(t *testing.T) {
	t.Parallel()
	s := openS3(t, artifact.S3Config{
		Bucket: "nowhere", Endpoint: closedEndpoint(t), Region: s3test.Region, UsePathStyle: true,
		AccessKeyID: "a", SecretAccessKey: "b", TempDir: t.TempDir(),
	})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	id := artifacttest.SHA([]byte("x"))
	if err := s.Ready(ctx); err == nil {
		t.Error("Ready = nil, want an error")
	}
	_, err := s.Stat(ctx, id)
	if err == nil || errors.Is(err, artifact.ErrNotFound) {
		t.Errorf("Stat = %v, want an error other than ErrNotFound", err)
	}
	if ok, err := s.Exists(ctx, id); ok || err == nil {
		t.Errorf("Exists = %v, %v; want an error", ok, err)
	}
}

func TestS3WrongCredentials(t *testing.T) {
	t.Parallel()
	cfg := s3Config(t, artifacttest.Options{})
	cfg.SecretAccessKey = "not-the-secret"
	s := openS3(t, cfg)
	_, err := s.Put(t.Context(), strings.NewReader("x"), artifact.PutOptions{})
	if err == nil || !strings.Contains(err.Error(), "access denied") {
		t.Errorf("Put with a wrong secret = %v, want access denied", err)
	}
	if err := s.Ready(t.Context()); err == nil {
		t.Error("Ready with a wrong secret = nil, want an error")
	}
}

// A server that ignores Range (answering 200 with the whole object) is
// fine for a read from the start and refused for a read from elsewhere,
// rather than served the wrong bytes.
func TestS3ServerIgnoringRange(t *testing.T) {
	t.Parallel()
	content := []byte("0123456789")
	id := artifacttest.SHA(content)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Last-Modified", time.Unix(0, 0).UTC().Format(http.TimeFormat))
		http.ServeContent(w, &http.Request{Method: r.Method, Header: http.Header{}}, "", time.Time{}, bytes.NewReader(content))
	}))
	t.Cleanup(srv.Close)
	s := openS3(t, artifact.S3Config{
		Bucket: "ignores-range", Endpoint: srv.URL, Region: s3test.Region, UsePathStyle: true,
		AccessKeyID: "a", SecretAccessKey: "b", TempDir: t.TempDir(),
	})
	b, err := s.Open(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if got, err := io.ReadAll(b); err != nil || !bytes.Equal(got, content) {
		t.Errorf("read from the start = %q, %v; want %q", got, err, content)
	}
	if _, err := b.Seek(5, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(b)
	if err == nil || !strings.Contains(err.Error(), `asked for bytes=5-, got Content-Range ""`) {
		t.Errorf("read from 5 = %q, %v; want a refusal", got, err)
	}
}

// Staging files that a crash left behind go when a store opens; young
// ones (another process may be writing them) and other programs' files
// stay.
func TestS3RemovesStaleStaging(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	old := time.Now().Add(-2 * time.Hour)
	files := map[string]bool{"comfygate-s3put-123": true, "comfygate-s3put-456": false, "someone-elses": false}
	for name, stale := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
		if stale || name == "someone-elses" {
			if err := os.Chtimes(p, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	openS3(t, artifact.S3Config{Bucket: "any-bucket", Region: s3test.Region, AccessKeyID: "a", SecretAccessKey: "b", TempDir: dir})
	for name, stale := range files {
		_, err := os.Stat(filepath.Join(dir, name))
		if gone := errors.Is(err, os.ErrNotExist); gone != stale {
			t.Errorf("%s: removed %v, want %v", name, gone, stale)
		}
	}
}

// Not parallel: it clears the region from the environment.
func TestNewS3Rejects(t *testing.T) {
	for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	tests := map[string]struct {
		cfg  artifact.S3Config
		want string
	}{
		"small parts": {artifact.S3Config{Bucket: "bucket", Region: "r", PartSize: 1 << 20}, "part size 1048576: S3 needs at least 5242880 bytes"},
		"no region":   {artifact.S3Config{Bucket: "bucket"}, "no region: set region= in the URL or AWS_REGION"},
		"bad prefix":  {artifact.S3Config{Bucket: "bucket", Region: "r", Prefix: "a/./b"}, `prefix "a/./b"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tc.cfg.TempDir = t.TempDir()
			s, err := artifact.NewS3(t.Context(), tc.cfg)
			if err == nil {
				s.Close()
				t.Fatal("NewS3 succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewS3 error = %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

// With an endpoint and no region anywhere, requests are signed for
// us-east-1, which S3-compatible servers accept. Not parallel: it clears
// the region from the environment.
func TestS3EndpointDefaultsRegion(t *testing.T) {
	for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	cfg := s3Config(t, artifacttest.Options{})
	cfg.Region = ""
	s := openS3(t, cfg)
	if err := s.Ready(t.Context()); err != nil {
		t.Errorf("Ready: %v", err)
	}
}
