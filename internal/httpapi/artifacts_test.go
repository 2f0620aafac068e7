package httpapi_test

import (
	"context"
	"mime"
	"net/http"
	"testing"

	"github.com/comfygate/comfygate/internal/httpapi"
	"github.com/comfygate/comfygate/internal/httpapi/httpapitest"
)

func artifactService(a *httpapitest.Artifact, gotOwner *string) *httpapitest.Service {
	return &httpapitest.Service{
		OpenArtifactFunc: func(_ context.Context, owner, id string) (httpapi.Artifact, error) {
			*gotOwner = owner
			return a, nil
		},
	}
}

func TestArtifact(t *testing.T) {
	t.Parallel()
	data := []byte("0123456789abcdef")
	tests := []struct {
		name       string
		method     string
		hdr        []string
		ctype      string
		fileName   string
		wantStatus int
		wantBody   string
		wantHeader map[string]string
	}{
		{name: "whole file", method: "GET", ctype: "image/png", fileName: "out.png", wantStatus: 200, wantBody: string(data),
			wantHeader: map[string]string{"Content-Type": "image/png", "ETag": `"abc123"`, "X-Content-Type-Options": "nosniff",
				"Content-Disposition": `inline; filename=out.png`, "Content-Length": "16", "Accept-Ranges": "bytes"}},
		{name: "range", method: "GET", hdr: []string{"Range", "bytes=2-5"}, ctype: "image/png", fileName: "out.png", wantStatus: 206, wantBody: "2345",
			wantHeader: map[string]string{"Content-Range": "bytes 2-5/16", "Content-Length": "4"}},
		{name: "suffix range", method: "GET", hdr: []string{"Range", "bytes=-3"}, ctype: "image/png", fileName: "out.png", wantStatus: 206, wantBody: "def"},
		{name: "range past the end", method: "GET", hdr: []string{"Range", "bytes=100-"}, ctype: "image/png", fileName: "out.png", wantStatus: 416,
			wantHeader: map[string]string{"Content-Range": "bytes */16"}},
		{name: "if-none-match", method: "GET", hdr: []string{"If-None-Match", `"abc123"`}, ctype: "image/png", fileName: "out.png", wantStatus: 304},
		{name: "if-range stale", method: "GET", hdr: []string{"Range", "bytes=0-1", "If-Range", `"old"`}, ctype: "image/png", fileName: "out.png", wantStatus: 200, wantBody: string(data)},
		{name: "head", method: "HEAD", ctype: "video/mp4", fileName: "clip.mp4", wantStatus: 200,
			wantHeader: map[string]string{"Content-Length": "16", "Content-Disposition": "inline; filename=clip.mp4"}},
		{name: "svg downloads", method: "GET", ctype: "image/svg+xml", fileName: "x.svg", wantStatus: 200, wantBody: string(data),
			wantHeader: map[string]string{"Content-Disposition": "attachment; filename=x.svg"}},
		{name: "html downloads", method: "GET", ctype: "text/html", fileName: "x.html", wantStatus: 200, wantBody: string(data),
			wantHeader: map[string]string{"Content-Disposition": "attachment; filename=x.html", "Content-Security-Policy": "default-src 'none'; sandbox"}},
		{name: "bad type is octet-stream", method: "GET", ctype: "not a type", fileName: "x", wantStatus: 200, wantBody: string(data),
			wantHeader: map[string]string{"Content-Type": "application/octet-stream", "Content-Disposition": "attachment; filename=x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := httpapitest.NewArtifact(data, tt.fileName, tt.ctype, "abc123", testTime)
			var owner string
			_, ts := start(t, artifactService(a, &owner), httpapi.Config{})
			res := do(t, ts, tt.method, "/v1/artifacts/sha-1", nil, tt.hdr...)
			if res.status != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %q", res.status, tt.wantStatus, res.body)
			}
			if tt.wantBody != "" && string(res.body) != tt.wantBody {
				t.Errorf("body %q, want %q", res.body, tt.wantBody)
			}
			for k, v := range tt.wantHeader {
				if got := res.header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if !a.IsClosed() {
				t.Error("the artifact was not closed")
			}
		})
	}
}

// TestArtifactFilenames checks that hostile names become a header that
// parses back to a plain file name.
func TestArtifactFilenames(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, stored, want string }{
		{"quotes", `a"b.png`, `a"b.png`},
		{"path", "../../etc/passwd", "passwd"},
		{"newline", "a\r\nSet-Cookie: x.png", "aSet-Cookie: x.png"},
		{"unicode", "café ☕.png", "café ☕.png"},
		{"empty", "", "upload"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var owner string
			a := httpapitest.NewArtifact([]byte("x"), tt.stored, "image/png", "e", testTime)
			_, ts := start(t, artifactService(a, &owner), httpapi.Config{})
			res := do(t, ts, "GET", "/v1/artifacts/sha-1", nil)
			if res.header.Get("Set-Cookie") != "" {
				t.Fatal("header injection")
			}
			_, params, err := mime.ParseMediaType(res.header.Get("Content-Disposition"))
			if err != nil || params["filename"] != tt.want {
				t.Errorf("Content-Disposition %q: filename %q, %v; want %q", res.header.Get("Content-Disposition"), params["filename"], err, tt.want)
			}
		})
	}
}

func TestArtifactOwner(t *testing.T) {
	t.Parallel()
	var owner string
	a := httpapitest.NewArtifact([]byte("x"), "a.png", "image/png", "e", testTime)
	_, ts := start(t, artifactService(a, &owner), httpapi.Config{APIKeys: []httpapi.APIKey{{ID: "bob", Hash: httpapi.HashKey("secret")}}})
	if res := do(t, ts, "GET", "/v1/artifacts/x", nil, "X-API-Key", "secret"); res.status != http.StatusOK || owner != "bob" {
		t.Errorf("status %d, owner %q", res.status, owner)
	}
}
