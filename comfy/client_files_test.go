package comfy

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// viewServer serves content at /view for one FileRef, with Range support, as
// ComfyUI's FileResponse does; anything else is an empty 404.
func viewServer(tb testing.TB, ref FileRef, content []byte) *httptest.Server {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.URL.Path != "/view" || q.Get("filename") != ref.Filename || q.Get("subfolder") != ref.Subfolder || q.Get("type") != ref.Type {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.WriteHeader(http.StatusNotFound)
			return
		}
		if q.Get("preview") != "" {
			w.Header().Set("Content-Type", "image/webp")
			w.Write([]byte("RIFF" + q.Get("preview")))
			return
		}
		http.ServeContent(w, r, ref.Filename, time.Time{}, bytes.NewReader(content))
	}))
	tb.Cleanup(srv.Close)
	return srv
}

func TestView(t *testing.T) {
	t.Parallel()
	ref := FileRef{Filename: "basic_00001_.png", Subfolder: "fixture", Type: FileTypeOutput}
	content := append(append([]byte{}, pngMagic...), bytes.Repeat([]byte{7}, 1000)...)
	srv := viewServer(t, ref, content)
	c, err := NewClient(srv.URL, WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		ref        FileRef
		opts       ViewOptions
		wantStatus int
		wantType   string
		wantBody   []byte
	}{
		{"whole file", ref, ViewOptions{}, 200, "image/png", content},
		{"range", ref, ViewOptions{Range: "bytes=0-7"}, 206, "image/png", pngMagic},
		{"preview", ref, ViewOptions{Preview: "webp;50"}, 200, "image/webp", []byte("RIFFwebp;50")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := c.View(testCtx(t), tt.ref, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer v.Body.Close()
			got, err := io.ReadAll(v.Body)
			if err != nil {
				t.Fatal(err)
			}
			if v.Status != tt.wantStatus || v.ContentType != tt.wantType || v.ContentLength != int64(len(tt.wantBody)) {
				t.Errorf("status %d type %q length %d", v.Status, v.ContentType, v.ContentLength)
			}
			if !bytes.Equal(got, tt.wantBody) {
				t.Errorf("body %q, want %q", truncate(got), truncate(tt.wantBody))
			}
		})
	}
	_, err = c.View(testCtx(t), FileRef{Filename: "nope.png", Type: FileTypeOutput}, ViewOptions{})
	var he *HTTPError
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &he) || he.Status != 404 {
		t.Errorf("missing file err = %v, want 404 ErrNotFound", err)
	}
	if _, err := c.View(testCtx(t), FileRef{}, ViewOptions{}); err == nil {
		t.Error("View with empty filename succeeded")
	}
}

// TestViewStreams checks that View returns before the body is complete: the
// server holds the rest of the file until the test has the first bytes.
func TestViewStreams(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write(pngMagic)
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
		w.Write([]byte("rest"))
	}))
	defer srv.Close()
	c, err := NewClient(srv.URL, WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.View(testCtx(t), FileRef{Filename: "a.png"}, ViewOptions{})
	if err != nil {
		close(release)
		t.Fatal(err)
	}
	defer v.Body.Close()
	head := make([]byte, len(pngMagic))
	if _, err := io.ReadFull(v.Body, head); err != nil || !bytes.Equal(head, pngMagic) {
		t.Fatalf("first bytes %q, %v", head, err)
	}
	close(release)
	rest, err := io.ReadAll(v.Body)
	if err != nil || string(rest) != "rest" {
		t.Fatalf("rest %q, %v", rest, err)
	}
}

func TestUploadImage(t *testing.T) {
	t.Parallel()
	f := newFakeComfy(t)
	f.respond(findResponse(t, "07-post-upload-image-same-name-other-bytes-renamed"))
	data := bytes.Repeat([]byte("png!"), 100_000) // larger than any pipe buffer
	res, err := f.client().UploadImage(testCtx(t), Upload{Name: `fixture-upload.png`, Body: bytes.NewReader(data), Subfolder: "sub", Type: FileTypeInput, Overwrite: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Name != "fixture-upload (1).png" || res.LoadImageValue() != "fixture-upload (1).png" {
		t.Errorf("result %+v", res)
	}
	req := f.lastRequest()
	if diff := cmp.Diff(map[string]string{"type": "input", "subfolder": "sub", "overwrite": "true"}, req.Form); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	file := req.Files["image"]
	if req.Path != "/upload/image" || file.Filename != "fixture-upload.png" || file.ContentType != "image/png" || !bytes.Equal(file.Data, data) {
		t.Errorf("path %s file %q %q %d bytes", req.Path, file.Filename, file.ContentType, len(file.Data))
	}
}

func TestUploadMask(t *testing.T) {
	t.Parallel()
	f := newFakeComfy(t)
	f.respond(findResponse(t, "07-post-upload-image-subfolder-type-input"))
	orig := FileRef{Filename: "in.png", Subfolder: "", Type: FileTypeInput}
	res, err := f.client().UploadMask(testCtx(t), Upload{Name: `m "1".png`, Body: strings.NewReader("mask")}, orig)
	if err != nil {
		t.Fatal(err)
	}
	if res.LoadImageValue() != "fixture/in-sub.png" {
		t.Errorf("LoadImageValue %q", res.LoadImageValue())
	}
	req := f.lastRequest()
	if req.Path != "/upload/mask" || req.Form["original_ref"] != `{"filename":"in.png","subfolder":"","type":"input"}` {
		t.Errorf("path %s form %v", req.Path, req.Form)
	}
	if got := req.Files["image"].Filename; got != `m "1".png` {
		t.Errorf("filename %q", got)
	}
}

func TestUploadErrors(t *testing.T) {
	t.Parallel()
	f := newFakeComfy(t)
	f.respond(findResponse(t, "07-post-upload-image-subfolder-traversal"))
	_, err := f.client().UploadImage(testCtx(t), Upload{Name: "a.png", Body: strings.NewReader("x"), Subfolder: "../.."})
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != 400 || he.Body != "" {
		t.Errorf("traversal err = %#v, want empty 400", err)
	}

	readErr := errors.New("disk gone")
	_, err = f.client().UploadImage(testCtx(t), Upload{Name: "a.png", Body: iotest.ErrReader(readErr)})
	if !errors.Is(err, readErr) {
		t.Errorf("reader failure err = %v, want %v", err, readErr)
	}

	for _, u := range []Upload{{Body: strings.NewReader("x")}, {Name: "a.png"}, {Name: "a\r\n.png", Body: strings.NewReader("x")}} {
		if _, err := f.client().UploadImage(testCtx(t), u); err == nil {
			t.Errorf("upload %q accepted", u.Name)
		}
	}
}

func TestUploadWithSize(t *testing.T) {
	t.Parallel()
	f := newFakeComfy(t)
	f.respond(findResponse(t, "07-post-upload-image-new-file"))
	data := []byte("png bytes")
	_, err := f.client().UploadImage(testCtx(t), Upload{Name: "a.png", Body: bytes.NewReader(data), Size: int64(len(data)), Subfolder: "s"})
	if err != nil {
		t.Fatal(err)
	}
	req := f.lastRequest()
	if req.Header.Get("Content-Length") == "" || len(req.Header.Values("Transfer-Encoding")) != 0 || !bytes.Equal(req.Files["image"].Data, data) {
		t.Errorf("headers %v, file %q", req.Header, req.Files["image"].Data)
	}

	_, err = f.client().UploadImage(testCtx(t), Upload{Name: "a.png", Body: bytes.NewReader(data), Size: 3})
	if err == nil {
		t.Error("upload with a wrong Size succeeded")
	}
}
