package artifact_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/comfygate/comfygate/internal/artifact"
	"github.com/comfygate/comfygate/internal/artifact/artifacttest"
	"github.com/comfygate/comfygate/internal/artifact/s3test"
)

func TestParseS3URL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url  string
		want artifact.S3Config
	}{
		{"s3://bucket", artifact.S3Config{Bucket: "bucket"}},
		{"s3://my.bucket-1/", artifact.S3Config{Bucket: "my.bucket-1"}},
		{"s3://b12/comfygate/prod?region=eu-west-1", artifact.S3Config{Bucket: "b12", Prefix: "comfygate/prod", Region: "eu-west-1"}},
		{"s3://art/x?endpoint=http://127.0.0.1:7070&use_path_style=true", artifact.S3Config{Bucket: "art", Prefix: "x", Endpoint: "http://127.0.0.1:7070", UsePathStyle: true}},
		{"s3://art?endpoint=https%3A%2F%2Fabc.r2.cloudflarestorage.com%2F&use_path_style=false&region=auto",
			artifact.S3Config{Bucket: "art", Endpoint: "https://abc.r2.cloudflarestorage.com/", Region: "auto"}},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			got, err := artifact.ParseS3URL(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("config mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// Bad locations fail before anything is contacted, with a message that
// names the problem, and never repeat a secret.
func TestOpenRejects(t *testing.T) {
	t.Parallel()
	tests := map[string]struct{ location, want string }{
		"no bucket":        {"s3:///prefix", "no bucket"},
		"bad bucket":       {"s3://Bad_Bucket/x", `bucket "Bad_Bucket": want 3-63 lowercase letters`},
		"short bucket":     {"s3://ab", `bucket "ab"`},
		"unknown param":    {"s3://bucket?endpont=http://x", `unknown parameter "endpont": want endpoint, region, use_path_style`},
		"repeated param":   {"s3://bucket?region=a&region=b", `parameter "region" given 2 times`},
		"credentials":      {"s3://AKIA:s3cr3t@bucket", "credentials do not belong in the URL"},
		"endpoint creds":   {"s3://bucket?endpoint=http://AKIA:s3cr3t@host", "credentials do not belong in the URL"},
		"endpoint scheme":  {"s3://bucket?endpoint=ftp://host", "want http:// or https://"},
		"endpoint no host": {"s3://bucket?endpoint=http://", "no host"},
		"endpoint path":    {"s3://bucket?endpoint=http://host/base", "want scheme and host[:port] only"},
		"path style":       {"s3://bucket?use_path_style=maybe", `use_path_style "maybe": want true or false`},
		"dot-dot prefix":   {"s3://bucket/a/../b", "want path segments without empty, . or .. parts"},
		"empty segment":    {"s3://bucket/a//b", "want path segments without empty"},
		"fragment":         {"s3://bucket/a#b", "unexpected #fragment"},
		"other scheme":     {"gs://bucket/x", `unsupported scheme "gs": want a directory or s3://BUCKET/PREFIX`},
		"file with host":   {"file://server/share", "want file:///absolute/path"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, err := artifact.Open(t.Context(), tc.location, artifact.OpenOptions{Dir: t.TempDir()})
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q) succeeded", tc.location)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open(%q) error = %q, want it to contain %q", tc.location, err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error repeats the secret: %q", err)
			}
		})
	}
}

func TestOpenLocal(t *testing.T) {
	t.Parallel()
	def, dir, fileDir := t.TempDir(), t.TempDir(), t.TempDir()
	tests := map[string]struct{ location, wantDir string }{
		"default":   {"", def},
		"directory": {dir, dir},
		"file URL":  {"file://" + filepath.ToSlash(fileDir), fileDir},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s, err := artifact.Open(t.Context(), tc.location, artifact.OpenOptions{Dir: def})
			if err != nil {
				t.Fatal(err)
			}
			info := artifacttest.Put(t, s, []byte(name), artifact.PutOptions{})
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			// The store lives in wantDir: one opened there reads the blob.
			there, err := artifact.NewLocal(tc.wantDir, artifact.LocalOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer there.Close()
			b, err := there.Open(t.Context(), info.ID)
			if err != nil {
				t.Fatalf("blob not in %s: %v", tc.wantDir, err)
			}
			defer b.Close()
			if got, err := io.ReadAll(b); err != nil || string(got) != name {
				t.Errorf("blob in %s = %q, %v; want %q", tc.wantDir, got, err, name)
			}
		})
	}
	if _, err := artifact.Open(t.Context(), "", artifact.OpenOptions{}); err == nil {
		t.Error("Open without location or default directory succeeded")
	}
}

// An s3:// location takes its credentials from the standard AWS variables.
// Not parallel: it sets the process environment.
func TestOpenS3WithEnvironmentCredentials(t *testing.T) {
	bucket := gw.NewBucket(t, gwErr)
	t.Setenv("AWS_ACCESS_KEY_ID", s3test.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s3test.SecretKey)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true") // never ask an instance metadata service
	loc := gw.URL(bucket, "from/env")
	s, err := artifact.Open(t.Context(), loc, artifact.OpenOptions{TempDir: t.TempDir()})
	if err != nil {
		t.Fatalf("Open(%s): %v", loc, err)
	}
	defer s.Close()
	if _, ok := s.(*artifact.S3); !ok {
		t.Fatalf("Open(%s) = %T, want *artifact.S3", loc, s)
	}
	if err := s.Ready(t.Context()); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	content := []byte("credentials from the environment")
	info := artifacttest.Put(t, s, content, artifact.PutOptions{})
	p := filepath.Join(gw.BucketDir(bucket), "from", "env", info.ID[:2], info.ID[2:4], info.ID)
	if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, content) {
		t.Errorf("object not at %s: %q, %v", p, got, err)
	}

	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong")
	wrong, err := artifact.Open(t.Context(), loc, artifact.OpenOptions{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer wrong.Close()
	if err := wrong.Ready(t.Context()); err == nil {
		t.Error("Ready with a wrong secret from the environment = nil, want an error")
	}
}
