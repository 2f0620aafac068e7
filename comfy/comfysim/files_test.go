package comfysim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/comfygate/comfygate/comfy/comfysim"
)

func pngBytes(t *testing.T, w, h int, c color.Color) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestUploadNaming(t *testing.T) {
	s := start(t, comfysim.Options{})
	a := pngBytes(t, 2, 2, color.NRGBA{255, 0, 0, 255})
	b := pngBytes(t, 2, 2, color.NRGBA{0, 255, 0, 255})
	steps := []struct {
		name   string
		file   string
		data   []byte
		fields []string
		status int
		want   string // JSON body
	}{
		{"new file", "up.png", a, nil, 200, `{"name": "up.png", "subfolder": "", "type": "input"}`},
		{"same bytes reuse the name", "up.png", a, nil, 200, `{"name": "up.png", "subfolder": "", "type": "input"}`},
		{"other bytes get (1)", "up.png", b, nil, 200, `{"name": "up (1).png", "subfolder": "", "type": "input"}`},
		{"same as (1) reuses it", "up.png", b, nil, 200, `{"name": "up (1).png", "subfolder": "", "type": "input"}`},
		{"third content gets (2)", "up.png", pngBytes(t, 3, 3, color.Black), nil, 200, `{"name": "up (2).png", "subfolder": "", "type": "input"}`},
		{"overwrite=true", "up.png", b, []string{"overwrite", "true"}, 200, `{"name": "up.png", "subfolder": "", "type": "input"}`},
		{"overwrite=True is not overwrite", "up.png", a, []string{"overwrite", "True"}, 200, `{"name": "up (3).png", "subfolder": "", "type": "input"}`},
		{"subfolder echoed as sent", "in-sub.png", a, []string{"subfolder", "fixture/./x/..", "type", "input"}, 200, `{"name": "in-sub.png", "subfolder": "fixture/./x/..", "type": "input"}`},
		{"type temp", "t.png", a, []string{"type", "temp"}, 200, `{"name": "t.png", "subfolder": "", "type": "temp"}`},
		{"dotfile has no extension", ".hidden", a, nil, 200, `{"name": ".hidden", "subfolder": "", "type": "input"}`},
		{"dotfile collision", ".hidden", b, nil, 200, `{"name": ".hidden (1)", "subfolder": "", "type": "input"}`},
		{"subfolder traversal", "evil.png", a, []string{"subfolder", "../../"}, 400, ""},
		{"absolute subfolder", "evil.png", a, []string{"subfolder", "/etc"}, 400, ""},
		{"filename traversal", "../evil.png", a, nil, 400, ""},
		{"unknown type is a 500", "x.png", a, []string{"type", "bogus"}, 500, ""},
		{"empty filename", "", a, nil, 400, ""},
	}
	for _, st := range steps {
		r := upload(t, s, "/upload/image", st.file, st.data, st.fields...)
		if r.status != st.status {
			t.Fatalf("%s: status %d, want %d: %s", st.name, r.status, st.status, r.body)
		}
		if st.want != "" {
			diff(t, st.name, st.want, string(r.body))
		}
	}
	if r := do(t, http.MethodPost, s.URL()+"/upload/image", strings.NewReader("overwrite=true"), "Content-Type", "application/x-www-form-urlencoded"); r.status != 400 {
		t.Errorf("no image field: %d", r.status)
	}
	data, err := os.ReadFile(filepath.Join(s.DataDir(), "input", "up.png"))
	if err != nil || !bytes.Equal(data, b) {
		t.Errorf("overwrite did not write the new bytes")
	}

	var info map[string]struct {
		Input struct {
			Required map[string][]any `json:"required"`
		} `json:"input"`
	}
	if err := json.Unmarshal(get(t, s, "/object_info/LoadImage").body, &info); err != nil {
		t.Fatal(err)
	}
	diff(t, "LoadImage lists top-level images", []any{"up (1).png", "up (2).png", "up (3).png", "up.png"}, info["LoadImage"].Input.Required["image"][0])
}

func TestUploadMask(t *testing.T) {
	s := start(t, comfysim.Options{})
	upload(t, s, "/upload/image", "orig.png", pngBytes(t, 4, 4, color.NRGBA{10, 20, 30, 255}))
	mask := pngBytes(t, 4, 4, color.NRGBA{0, 0, 0, 40})
	ref := `{"filename": "orig.png", "subfolder": "", "type": "input"}`
	r := upload(t, s, "/upload/mask", "masked.png", mask, "original_ref", ref)
	diff(t, "answer", `{"name": "masked.png", "subfolder": "", "type": "input"}`, string(r.body))
	img, err := png.Decode(bytes.NewReader(get(t, s, "/view?type=input&filename=masked.png").body))
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "pixel", color.NRGBA{10, 20, 30, 40}, color.NRGBAModel.Convert(img.At(1, 1)))

	// A missing original is silently ignored: 200, nothing written.
	r = upload(t, s, "/upload/mask", "ghost.png", mask, "original_ref", `{"filename": "nope.png", "type": "input"}`)
	diff(t, "missing original", 200, r.status)
	diff(t, "nothing written", 404, get(t, s, "/view?type=input&filename=ghost.png").status)
	diff(t, "malformed original_ref", 500, upload(t, s, "/upload/mask", "m2.png", mask, "original_ref", `{`).status)
}

func TestViewTraversal(t *testing.T) {
	s := start(t, comfysim.Options{})
	upload(t, s, "/upload/image", "fixture-upload.png", pngBytes(t, 2, 2, color.White))
	id := submit(t, s, workflow(t, "basic"), "")
	history(t, s, id)
	tests := []struct {
		query  string
		status int
	}{
		{"filename=basic_00001_.png&subfolder=fixture&type=output", 200},
		{"filename=basic_00001_.png%20%5Boutput%5D&subfolder=fixture", 200},
		{"filename=fixture-upload.png&type=input", 200},
		{"filename=fixture-upload.png%20%5Binput%5D", 200},
		{"filename=../input/fixture-upload.png&type=output", 400},
		{"filename=..%2Finput%2Ffixture-upload.png&type=output", 400},
		{"filename=a..b.png", 400},
		{"filename=/etc/passwd", 400},
		{"filename=..%5C..%5Cetc%5Cpasswd", 400},
		{"filename=", 400},
		{"filename=%20%5Boutput%5D", 400},
		{"filename=basic_00001_.png&type=bogus", 400},
		{"filename=fixture-upload.png&type=output&subfolder=../input", 403},
		{"filename=passwd&type=output&subfolder=/etc", 403},
		{"filename=passwd&subfolder=../../../../../../etc", 403},
		{"filename=fixture/basic_00001_.png&type=output", 404},
		{"filename=fixture/basic_00001_.png&subfolder=fixture", 200},
		{"filename=basic_00001_.png&type=output", 404},
		{"filename=nope.png", 404},
		{"filename=a%00.png", 404},
		{"", 404},
		{"filename=fixture&type=output", 404},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := get(t, s, "/view?"+tt.query)
			diff(t, "status", tt.status, r.status)
			if tt.status != 200 {
				diff(t, "empty body", "", string(r.body))
				diff(t, "content type", "application/octet-stream", r.header.Get("Content-Type"))
			}
		})
	}
}

func TestViewVariants(t *testing.T) {
	s := start(t, comfysim.Options{})
	upload(t, s, "/upload/image", "a.png", pngBytes(t, 4, 3, color.NRGBA{200, 100, 50, 128}))
	upload(t, s, "/upload/image", "page.html", []byte("<script>alert(1)</script>"))
	upload(t, s, "/upload/image", "data.json", []byte(`{}`))
	tests := []struct {
		query, contentType string
	}{
		{"filename=a.png&type=input", "image/png"},
		{"filename=a.png&type=input&preview=webp;50", "image/webp"},
		{"filename=a.png&type=input&preview=jpeg;80", "image/jpeg"},
		{"filename=a.png&type=input&preview=gif", "image/webp"},
		{"filename=a.png&type=input&preview=jpeg;80&channel=rgba", "image/webp"},
		{"filename=a.png&type=input&channel=rgb", "image/png"},
		{"filename=a.png&type=input&channel=a", "image/png"},
		{"filename=a.png&type=input&channel=other", "image/png"},
		{"filename=page.html&type=input", "application/octet-stream"},
		{"filename=data.json&type=input", "application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := get(t, s, "/view?"+tt.query)
			if r.status != 200 {
				t.Fatalf("status %d", r.status)
			}
			diff(t, "content type", tt.contentType, r.header.Get("Content-Type"))
			name := strings.TrimPrefix(strings.Split(tt.query, "&")[0], "filename=")
			diff(t, "disposition", fmt.Sprintf("filename=%q", name), r.header.Get("Content-Disposition"))
		})
	}
	r := get(t, s, "/view?filename=a.png&type=input&channel=a")
	img, err := png.Decode(bytes.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "alpha channel", color.NRGBA{0, 0, 0, 128}, color.NRGBAModel.Convert(img.At(0, 0)))
	if r := get(t, s, "/view?filename=data.json&type=input&preview=webp"); r.status != 500 {
		t.Errorf("preview of a non-image: %d, want 500", r.status)
	}

	// FileResponse semantics: ranges and conditional requests.
	full := get(t, s, "/view?filename=a.png&type=input")
	rr := do(t, http.MethodGet, s.URL()+"/view?filename=a.png&type=input", nil, "Range", "bytes=0-7")
	diff(t, "range status", 206, rr.status)
	diff(t, "range body", full.body[:8], rr.body)
	etag := full.header.Get("Etag")
	diff(t, "not modified", 304, do(t, http.MethodGet, s.URL()+"/view?filename=a.png&type=input", nil, "If-None-Match", etag).status)
}

func TestHistoryPaging(t *testing.T) {
	s := start(t, comfysim.Options{})
	var ids []string
	for i := range 10 {
		p := workflow(t, "text")
		p["1"].(map[string]any)["inputs"].(map[string]any)["value"] = fmt.Sprint("v", i)
		ids = append(ids, submit(t, s, p, ""))
	}
	waitFor(t, "ten history entries", func() bool { return len(get(t, s, "/history").json(t)) == 10 })
	tests := []struct {
		query string
		want  []int // 1-based entries
	}{
		{"", []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{"?max_items=3", []int{8, 9, 10}},
		{"?offset=2", []int{3, 4, 5, 6, 7, 8, 9, 10}},
		{"?offset=2&max_items=3", []int{3, 4, 5}},
		{"?offset=10", nil},
		{"?max_items=0", nil},
		{"?max_items=0&offset=0", []int{1}},
		{"?max_items=20", []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{"?max_items=1&offset=0", []int{1}},
		{"?offset=-3", []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{"?max_items=%202%20", []int{9, 10}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := get(t, s, "/history"+tt.query)
			var want []string
			for _, n := range tt.want {
				want = append(want, ids[n-1])
			}
			diff(t, "entries", want, historyKeys(t, r.body))
		})
	}
	for _, q := range []string{"?max_items=1.5", "?offset=x"} {
		if r := get(t, s, "/history"+q); r.status != 500 {
			t.Errorf("%s: %d, want 500", q, r.status)
		}
	}
}

func TestSlowView(t *testing.T) {
	s := start(t, comfysim.Options{ViewDelay: time.Hour})
	upload(t, s, "/upload/image", "a.png", pngBytes(t, 2, 2, color.White))
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL()+"/view?type=input&filename=a.png", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("a view delayed by an hour answered")
	}
	s.SetViewDelay(0)
	diff(t, "after lifting the delay", 200, get(t, s, "/view?type=input&filename=a.png").status)
}
