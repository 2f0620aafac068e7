package artifact_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/comfygate/comfygate/internal/artifact"
	"github.com/comfygate/comfygate/internal/artifact/artifacttest"
)

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
