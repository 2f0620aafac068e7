package httpapi_test

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/internal/httpapi"
	"github.com/comfygate/comfygate/internal/httpapi/httpapitest"
)

type uploaded struct {
	owner, filename, contentType string
	data                         []byte
}

// storingService reads uploads to the end, as a real store does, and
// reports what it stored on got.
func storingService(got chan<- uploaded) *httpapitest.Service {
	return &httpapitest.Service{
		UploadFunc: func(_ context.Context, owner string, r io.Reader, filename, ct string) (api.Upload, error) {
			data, err := io.ReadAll(r)
			if err != nil {
				return api.Upload{}, err
			}
			got <- uploaded{owner, filename, ct, data}
			return api.Upload{ID: "sha-1", Filename: filename, ContentType: ct, Size: int64(len(data)), URL: "/v1/artifacts/sha-1"}, nil
		},
	}
}

func multipartBody(tb testing.TB, filename, ctype string, data []byte) (io.Reader, string) {
	tb.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("note", "ignored")
	h := make(map[string][]string)
	h["Content-Disposition"] = []string{`form-data; name="file"; filename="` + filename + `"`}
	if ctype != "" {
		h["Content-Type"] = []string{ctype}
	}
	w, err := mw.CreatePart(h)
	if err != nil {
		tb.Fatal(err)
	}
	_, _ = w.Write(data)
	_ = mw.Close()
	return &buf, mw.FormDataContentType()
}

func TestUpload(t *testing.T) {
	t.Parallel()
	png := []byte("\x89PNG\r\n\x1a\nfake")
	mp, mpType := multipartBody(t, "../../etc/cat.png", "image/png", png)
	mpNoName, mpNoNameType := multipartBody(t, "", "", png)
	tests := []struct {
		name string
		path string
		body io.Reader
		ct   string
		want uploaded
	}{
		{"multipart", "/v1/uploads", mp, mpType, uploaded{filename: "cat.png", contentType: "image/png", data: png}},
		{"multipart without name or type", "/v1/uploads", mpNoName, mpNoNameType, uploaded{filename: "upload", contentType: "application/octet-stream", data: png}},
		{"raw body", "/v1/uploads?filename=a%5Cb%0A.png", bytes.NewReader(png), "image/png; charset=x", uploaded{filename: "b.png", contentType: "image/png", data: png}},
		{"raw body without name", "/v1/uploads", bytes.NewReader(png), "image/webp", uploaded{filename: "upload", contentType: "image/webp", data: png}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := make(chan uploaded, 1)
			_, ts := start(t, storingService(got), httpapi.Config{})
			res := do(t, ts, "POST", tt.path, tt.body, "Content-Type", tt.ct)
			if res.status != http.StatusCreated || res.header.Get("Location") != "/v1/artifacts/sha-1" {
				t.Fatalf("status %d, Location %q; body %s", res.status, res.header.Get("Location"), res.body)
			}
			u := <-got
			if u.filename != tt.want.filename || u.contentType != tt.want.contentType || !bytes.Equal(u.data, tt.want.data) {
				t.Errorf("stored %q %q %q, want %q %q %q", u.filename, u.contentType, u.data, tt.want.filename, tt.want.contentType, tt.want.data)
			}
		})
	}
}

func TestUploadSizeLimit(t *testing.T) {
	t.Parallel()
	const limit = 1000
	tests := []struct {
		name       string
		size       int
		multipart  bool
		wantStatus int
	}{
		{"raw at the limit", limit, false, http.StatusCreated},
		{"raw over the limit", limit + 1, false, http.StatusRequestEntityTooLarge},
		{"multipart at the limit", limit, true, http.StatusCreated},
		{"multipart over the limit", limit + 1, true, http.StatusRequestEntityTooLarge},
		{"declared length far over", 3 << 20, false, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := make(chan uploaded, 1)
			_, ts := start(t, storingService(got), httpapi.Config{MaxUploadBytes: limit})
			data := bytes.Repeat([]byte("x"), tt.size)
			// MultiReader hides the length: the body goes chunked.
			body, ct := io.Reader(io.MultiReader(bytes.NewReader(data))), "application/octet-stream"
			if tt.size > 1<<20 {
				body = bytes.NewReader(data) // with Content-Length
			}
			if tt.multipart {
				body, ct = multipartBody(t, "a.bin", "", data)
			}
			res := do(t, ts, "POST", "/v1/uploads", body, "Content-Type", ct)
			if res.status != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %s", res.status, tt.wantStatus, res.body)
			}
			if tt.wantStatus == http.StatusRequestEntityTooLarge {
				e := errorOf(t, res)
				if e.Code != api.CodeTooLarge || e.Field != "file" || !strings.Contains(e.Message, "1000 bytes") {
					t.Errorf("error = %+v", e)
				}
			}
		})
	}
}

// TestUploadStreams proves the body is not buffered whole: the service
// sees the first chunk while the client still holds back the rest.
func TestUploadStreams(t *testing.T) {
	t.Parallel()
	firstSeen := make(chan struct{})
	svc := &httpapitest.Service{
		UploadFunc: func(_ context.Context, _ string, r io.Reader, _, _ string) (api.Upload, error) {
			buf := make([]byte, 5)
			if _, err := io.ReadFull(r, buf); err != nil {
				return api.Upload{}, err
			}
			close(firstSeen)
			rest, err := io.ReadAll(r)
			return api.Upload{ID: "x", Size: int64(5 + len(rest))}, err
		},
	}
	_, ts := start(t, svc, httpapi.Config{})
	pr, pw := io.Pipe()
	go func() {
		_, _ = pw.Write([]byte("first"))
		select {
		case <-firstSeen:
			_, _ = pw.Write([]byte("second"))
			pw.Close()
		case <-t.Context().Done():
			pw.CloseWithError(t.Context().Err())
		}
	}()
	res := do(t, ts, "POST", "/v1/uploads", pr, "Content-Type", "application/octet-stream")
	if up := decode[api.Upload](t, res); res.status != http.StatusCreated || up.Size != 11 {
		t.Errorf("status %d, upload %+v", res.status, up)
	}
}
