package artifact_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
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

func TestS3PresignGet(t *testing.T) {
	t.Parallel()
	s := openS3(t, s3Config(t, artifacttest.Options{}))
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR-presigned")
	tests := []struct {
		name, contentType, fileName       string
		wantType, wantDisposition, wantCC string
	}{
		{"image inline", "image/png", "ComfyUI_00001_.png", "image/png", "inline; filename=ComfyUI_00001_.png", "private, max-age=31536000, immutable"},
		{"html as bytes", "text/html", "../evil.html", "application/octet-stream", "attachment; filename=evil.html", "private, max-age=31536000, immutable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			content := append(append([]byte(nil), png...), tc.name...)
			info := artifacttest.Put(t, s, content, artifact.PutOptions{ContentType: tc.contentType})
			url, err := s.PresignGet(t.Context(), info.ID, artifact.PresignOptions{Name: tc.fileName, Expires: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			resp, body := download(t, url)
			if resp.StatusCode != http.StatusOK || !bytes.Equal(body, content) {
				t.Fatalf("GET presigned URL: %d, %d bytes", resp.StatusCode, len(body))
			}
			for h, want := range map[string]string{"Content-Type": tc.wantType, "Content-Disposition": tc.wantDisposition, "Cache-Control": tc.wantCC} {
				if got := resp.Header.Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}
		})
	}
}

func TestS3PresignGetRefuses(t *testing.T) {
	t.Parallel()
	s := openS3(t, s3Config(t, artifacttest.Options{}))
	info := artifacttest.Put(t, s, []byte("x"), artifact.PutOptions{})
	ctx := t.Context()
	if _, err := s.PresignGet(ctx, artifacttest.SHA([]byte("missing")), artifact.PresignOptions{}); !errors.Is(err, artifact.ErrNotFound) {
		t.Errorf("missing blob: err = %v, want ErrNotFound", err)
	}
	if _, err := s.PresignGet(ctx, "../x", artifact.PresignOptions{}); !errors.Is(err, artifact.ErrInvalidID) {
		t.Errorf("invalid id: err = %v, want ErrInvalidID", err)
	}
	for _, d := range []time.Duration{-time.Second, 8 * 24 * time.Hour} {
		if _, err := s.PresignGet(ctx, info.ID, artifact.PresignOptions{Expires: d}); err == nil {
			t.Errorf("expiry %v accepted", d)
		}
	}
}

// An expired presigned URL no longer downloads.
func TestS3PresignExpires(t *testing.T) {
	t.Parallel()
	s := openS3(t, s3Config(t, artifacttest.Options{}))
	info := artifacttest.Put(t, s, []byte("short-lived"), artifact.PutOptions{})
	url, err := s.PresignGet(t.Context(), info.ID, artifact.PresignOptions{Expires: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, _ := download(t, url)
		if resp.StatusCode == http.StatusForbidden {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("presigned URL still answers %d after its expiry", resp.StatusCode)
		}
		time.Sleep(200 * time.Millisecond) // polling the condition, not synchronising
	}
}

func download(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}
