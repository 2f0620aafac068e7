package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/comfy/comfysim"
	"github.com/comfygate/comfygate/internal/artifact/s3test"
)

// `serve --artifacts s3://…` keeps outputs in the bucket and serves them
// from it, Range included, with credentials from the AWS variables; and
// /readyz follows the bucket. Not parallel: it sets the environment.
func TestServeArtifactsInS3(t *testing.T) {
	gw, bucket := startBucket(t)
	c, _ := startStack(t, comfysim.Options{}, "--artifacts", gw.URL(bucket, "outputs"))
	j := c.submit(api.SubmitJobRequest{Workflow: "t2i", Params: map[string]any{"seed": 7, "steps": 2, "width": 320, "height": 256}})
	final := c.waitJob(j.ID, "it ended", func(j api.Job) bool { return j.State.Terminal() })
	if final.State != api.StateSucceeded || len(final.Outputs) == 0 {
		t.Fatalf("job = %s %+v, want succeeded with outputs", final.State, final.Error)
	}
	out := final.Outputs[0]
	checkPNG(t, c, out, 320, 256)
	id := out.ArtifactID
	if _, err := os.Stat(filepath.Join(gw.BucketDir(bucket), "outputs", id[:2], id[2:4], id)); err != nil {
		t.Errorf("output %s is not an object in the bucket: %v", id, err)
	}
	if r := c.must(http.StatusPartialContent, "GET", out.URL, nil, "Range", "bytes=1-3"); string(r.Body) != "PNG" {
		t.Errorf("range of the output = %q, want %q", r.Body, "PNG")
	}

	checkLink(t, c, out.URL)

	if err := os.RemoveAll(gw.BucketDir(bucket)); err != nil {
		t.Fatal(err)
	}
	var last response
	notReady := func() bool {
		last = c.do("GET", "/readyz", nil)
		return last.Status == http.StatusServiceUnavailable
	}
	if !poll(notReady) || !strings.Contains(string(last.Body), `artifacts: bucket "`+bucket+`" does not exist`) {
		t.Errorf("/readyz without the bucket = %d %s, want 503 naming the bucket", last.Status, last.Body)
	}
}

// checkLink: GET {artifact}/link presigns a URL that downloads the same
// bytes from the bucket with no API key, typed as comfygate serves them,
// until the expiry asked for; a lifetime out of range names the field.
func checkLink(t *testing.T, c *apiClient, artifactURL string) {
	t.Helper()
	want := c.must(http.StatusOK, "GET", artifactURL, nil)
	var link api.ArtifactLink
	c.must(http.StatusOK, "GET", artifactURL+"/link?expires=1h", nil).decode(t, &link)
	if left := time.Until(link.ExpiresAt); left < 50*time.Minute || left > 61*time.Minute {
		t.Errorf("link expires at %v, want in about an hour", link.ExpiresAt)
	}
	res, err := http.Get(link.URL)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK || !bytes.Equal(got, want.Body) {
		t.Errorf("GET the link: %d, %d bytes (%v), want 200 and the artifact's %d bytes", res.StatusCode, len(got), err, len(want.Body))
	}
	if ct := res.Header.Get("Content-Type"); ct != want.Header.Get("Content-Type") {
		t.Errorf("the bucket types the file %q, comfygate %q", ct, want.Header.Get("Content-Type"))
	}
	if r := c.must(http.StatusBadRequest, "GET", artifactURL+"/link?expires=30d", nil); !strings.Contains(string(r.Body), `"field":"expires"`) {
		t.Errorf("a link for 30d: %s, want the expires field named", r.Body)
	}
}

// startBucket starts a Versity S3 Gateway with a new bucket for t and
// points the AWS credential variables at it. Not for parallel tests: it
// sets the environment.
func startBucket(t *testing.T) (*s3test.Server, string) {
	t.Helper()
	gw, err := s3test.Start(context.Background())
	if err != nil {
		s3test.Unavailable(t, err)
	}
	t.Cleanup(func() { gw.Close() })
	bucket := gw.NewBucket(t, nil)
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": s3test.AccessKey, "AWS_SECRET_ACCESS_KEY": s3test.SecretKey,
		"AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "AWS_EC2_METADATA_DISABLED": "true",
	} {
		t.Setenv(k, v)
	}
	return gw, bucket
}

func TestServeRejectsBadArtifacts(t *testing.T) {
	t.Parallel()
	stdout, stderr := newLineBuffer(), newLineBuffer()
	err := run(t.Context(), []string{"serve", "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--artifacts", "s3://bucket?regoin=x"}, stdout, stderr)
	if err == nil || !strings.Contains(err.Error(), `unknown parameter "regoin"`) {
		t.Errorf("serve with a misspelt parameter: %v, want it named", err)
	}
}
