package comfysim_test

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/comfygate/comfygate/comfy/comfysim"
)

// fuzzServer is an in-process simulator whose data directory is the only
// entry of root, so that tests can see files escaping it.
func fuzzServer(f *testing.F) (*comfysim.Server, string) {
	root := f.TempDir()
	s, err := comfysim.New(comfysim.Options{DataDir: filepath.Join(root, "data"), Seed: 1})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = s.Close() })
	return s, root
}

func serve(s *comfysim.Server, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	return rec
}

func FuzzPostPrompt(f *testing.F) {
	for _, seed := range []string{
		`{"prompt": {"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0}}, "2": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}}}}`,
		`{"prompt": {"1": {"class_type": "PrimitiveString", "inputs": {"value": "x"}}, "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}}}, "client_id": "c", "number": 3}`,
		`{"prompt": {"1": "EmptyImage"}}`, `{"prompt": null}`, `{"prompt": []}`, `[{"prompt": {}}]`,
		`{"prompt": {"1": {"class_type": "ImageInvert", "inputs": {"image": ["99", 0]}}}}`,
		`{"prompt": {}, "front": true, "extra_data": [1]}`, `"prompt"`, `5`, `{`, ``,
		`{"prompt": {"1": {"class_type": "EmptyImage", "inputs": {"width": 1e9, "height": "tall"}}}}`,
	} {
		f.Add([]byte(seed))
	}
	s, _ := fuzzServer(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := serve(s, httptest.NewRequest(http.MethodPost, "/prompt", bytes.NewReader(body)))
		switch rec.Code {
		case 200, 400:
			if !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("%d with invalid JSON: %s", rec.Code, rec.Body)
			}
		case 500:
		default:
			t.Fatalf("status %d for %q", rec.Code, body)
		}
	})
}

func FuzzUpload(f *testing.F) {
	f.Add("a.png", "", "", "", []byte("\x89PNG"))
	f.Add("../x.png", "sub", "input", "1", []byte("x"))
	f.Add("b.png", "../../..", "temp", "true", []byte{})
	f.Add(".png", "/abs", "output", "", []byte("y"))
	f.Add("c", "a/../../b", "bogus", "", []byte("z"))
	s, root := fuzzServer(f)
	f.Fuzz(func(t *testing.T, name, sub, typ, overwrite string, data []byte) {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, err := mw.CreateFormFile("image", name)
		if err != nil {
			return
		}
		_, _ = fw.Write(data)
		for k, v := range map[string]string{"subfolder": sub, "type": typ, "overwrite": overwrite} {
			if v != "" {
				_ = mw.WriteField(k, v)
			}
		}
		_ = mw.Close()
		req := httptest.NewRequest(http.MethodPost, "/upload/image", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		rec := serve(s, req)
		if !slices.Contains([]int{200, 400, 413, 500}, rec.Code) {
			t.Fatalf("status %d", rec.Code)
		}
		entries, err := os.ReadDir(root)
		if err != nil || len(entries) != 1 {
			t.Fatalf("upload escaped the data directory: %v", entries)
		}
	})
}

func FuzzView(f *testing.F) {
	f.Add("x.png", "output", "", "", "")
	f.Add("../etc/passwd", "input", "..", "webp;50", "a")
	f.Add("a [temp]", "", "/", "", "rgb")
	s, _ := fuzzServer(f)
	f.Fuzz(func(t *testing.T, name, typ, sub, preview, channel string) {
		q := url.Values{"filename": {name}}
		for k, v := range map[string]string{"type": typ, "subfolder": sub, "preview": preview, "channel": channel} {
			if v != "" {
				q.Set(k, v)
			}
		}
		rec := serve(s, httptest.NewRequest(http.MethodGet, "/view?"+q.Encode(), nil))
		if !slices.Contains([]int{200, 400, 403, 404, 500}, rec.Code) {
			t.Fatalf("status %d", rec.Code)
		}
	})
}
