package artifact_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/comfygate/comfygate/internal/artifact"
	"github.com/comfygate/comfygate/internal/artifact/artifacttest"
	"github.com/comfygate/comfygate/internal/artifact/s3test"
)

// gw is the S3-compatible server of this package's tests; gwErr says why
// there is none.
var (
	gw    *s3test.Server
	gwErr error
)

func TestMain(m *testing.M) {
	gw, gwErr = s3test.Start(context.Background())
	code := m.Run()
	if err := gw.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "stop versitygw: %v\n", err)
		code = 1
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// localStores opens local stores with small blobs kept at most inlineMax
// bytes in rows (negative: none).
func localStores(inlineMax int64) func(testing.TB, artifacttest.Options) artifact.Backend {
	return func(tb testing.TB, o artifacttest.Options) artifact.Backend {
		tb.Helper()
		l, err := artifact.NewLocal(tb.TempDir(), artifact.LocalOptions{MaxSize: o.MaxSize, InlineMax: inlineMax})
		if err != nil {
			tb.Fatalf("NewLocal: %v", err)
		}
		tb.Cleanup(func() { l.Close() })
		return l
	}
}

// testPartSize is S3's smallest part: blobs over 5 MiB go up in parts, so
// the suite's larger blobs exercise multipart uploads.
const testPartSize = 5 << 20

// s3Config is a config for a new, empty bucket on the test server.
func s3Config(tb testing.TB, o artifacttest.Options) artifact.S3Config {
	tb.Helper()
	bucket := gw.NewBucket(tb, gwErr) // first: it skips the test without a server
	return artifact.S3Config{
		Bucket: bucket, Prefix: "comfygate/test", Endpoint: gw.Endpoint,
		Region: s3test.Region, UsePathStyle: true,
		AccessKeyID: s3test.AccessKey, SecretAccessKey: s3test.SecretKey,
		MaxSize: o.MaxSize, TempDir: tb.TempDir(), PartSize: testPartSize,
	}
}

func openS3(tb testing.TB, cfg artifact.S3Config) *artifact.S3 {
	tb.Helper()
	s, err := artifact.NewS3(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("NewS3: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func newS3(tb testing.TB, o artifacttest.Options) artifact.Backend {
	tb.Helper()
	return openS3(tb, s3Config(tb, o))
}

func TestContractLocal(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		inlineMax int64
	}{
		{"small blobs in rows", 0},
		{"every blob a file", -1},
		{"tiny rows", 64}, // most of the suite's blobs cross from row to file
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			artifacttest.Run(t, localStores(tc.inlineMax))
		})
	}
}

func TestContractS3(t *testing.T) {
	t.Parallel()
	artifacttest.Run(t, newS3)
}
