package comfyapi

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/internal/job"
)

func testPNG(tb testing.TB, w, h int, c color.NRGBA) []byte {
	tb.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// upload posts a multipart upload; fields are name, value pairs.
func upload(tb testing.TB, base, route, filename string, data []byte, fields ...string) httpResult {
	tb.Helper()
	return uploadWith(tb, base, route, filename, data, http.Header{}, fields...)
}

// uploadWith is upload with the caller's headers (its key).
func uploadWith(tb testing.TB, base, route, filename string, data []byte, h http.Header, fields ...string) httpResult {
	tb.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	fw, _ := w.CreateFormFile("image", filename)
	_, _ = fw.Write(data)
	for i := 0; i+1 < len(fields); i += 2 {
		_ = w.WriteField(fields[i], fields[i+1])
	}
	_ = w.Close()
	h.Set("Content-Type", w.FormDataContentType())
	return do(tb, http.MethodPost, base+route, b.Bytes(), h)
}

func TestUploadNaming(t *testing.T) {
	e := newEnv(t, envOptions{})
	a, b := testPNG(t, 2, 2, color.NRGBA{R: 255, A: 255}), testPNG(t, 2, 2, color.NRGBA{G: 255, A: 255})
	tests := []struct {
		name, file string
		data       []byte
		fields     []string
		status     int
		want       string
	}{
		{"new", "p.png", a, nil, 200, "p.png"},
		{"same bytes, same name", "p.png", a, nil, 200, "p.png"},
		{"other bytes", "p.png", b, nil, 200, "p (1).png"},
		{"other bytes again", "p.png", b, nil, 200, "p (1).png"},
		{"overwrite only with true or 1", "p.png", b, []string{"overwrite", "True"}, 200, "p (1).png"},
		{"overwrite", "p.png", b, []string{"overwrite", "1"}, 200, "p.png"},
		{"subfolder", "p.png", a, []string{"subfolder", "sub/dir"}, 200, "p.png"},
		{"subfolder escape", "p.png", a, []string{"subfolder", "../x"}, 400, ""},
		{"name with a path", "../p.png", a, nil, 400, ""},
		{"unknown type", "p.png", a, []string{"type", "bogus"}, 500, ""},
	}
	for _, tt := range tests {
		r := upload(t, e.srv.URL, "/upload/image", tt.file, tt.data, tt.fields...)
		if r.status != tt.status {
			t.Fatalf("%s: status %d %s, want %d", tt.name, r.status, r.body, tt.status)
		}
		if tt.status == 200 && r.json(t)["name"] != tt.want {
			t.Errorf("%s: name %v, want %q", tt.name, r.json(t)["name"], tt.want)
		}
	}
	// After overwrite, p.png holds b's bytes.
	got := do(t, http.MethodGet, e.srv.URL+"/view?filename=p.png&type=input", nil, nil)
	if !bytes.Equal(got.body, b) || got.header.Get("Content-Disposition") != `filename="p.png"` {
		t.Errorf("/view after overwrite: %d %q, want b's bytes", got.status, got.header.Get("Content-Disposition"))
	}
	part := do(t, http.MethodGet, e.srv.URL+"/view?filename=p.png&type=input&subfolder=sub/dir", nil, http.Header{"Range": []string{"bytes=0-7"}})
	if part.status != http.StatusPartialContent || !bytes.Equal(part.body, a[:8]) {
		t.Errorf("Range: %d %x, want 206 and the PNG signature", part.status, part.body)
	}
}

func TestViewReencodes(t *testing.T) {
	e := newEnv(t, envOptions{})
	upload(t, e.srv.URL, "/upload/image", "i.png", testPNG(t, 6, 4, color.NRGBA{B: 200, A: 128}))
	upload(t, e.srv.URL, "/upload/image", "t.png", []byte("not an image"))
	tests := []struct {
		query, ctype string
		status       int
	}{
		{"preview=webp;50", "image/webp", 200},
		{"preview=jpeg;80", "image/jpeg", 200},
		{"preview=jpeg;80&channel=rgba", "image/webp", 200}, // a channel with "a" forces webp
		{"preview=bmp", "image/webp", 200},
		{"channel=rgb", "image/png", 200},
		{"channel=a", "image/png", 200},
		{"channel=bogus", "image/png", 200}, // the raw file
	}
	for _, tt := range tests {
		r := do(t, http.MethodGet, e.srv.URL+"/view?filename=i.png&type=input&"+tt.query, nil, nil)
		if r.status != tt.status || r.header.Get("Content-Type") != tt.ctype {
			t.Errorf("%s: %d %s, want %d %s", tt.query, r.status, r.header.Get("Content-Type"), tt.status, tt.ctype)
			continue
		}
		if tt.ctype != "image/webp" {
			if w, h := imageSize(t, r.body); w != 6 || h != 4 {
				t.Errorf("%s: %dx%d, want 6x4", tt.query, w, h)
			}
		}
	}
	if r := do(t, http.MethodGet, e.srv.URL+"/view?filename=t.png&type=input&preview=webp;90", nil, nil); r.status != 500 {
		t.Errorf("re-encoding a non-image: %d, want ComfyUI's 500", r.status)
	}
}

func TestUploadMask(t *testing.T) {
	e := newEnv(t, envOptions{})
	upload(t, e.srv.URL, "/upload/image", "base.png", testPNG(t, 4, 4, color.NRGBA{R: 10, G: 20, B: 30, A: 255}))
	ref := `{"filename": "base.png", "subfolder": "", "type": "input"}`
	r := upload(t, e.srv.URL, "/upload/mask", "masked.png", testPNG(t, 4, 4, color.NRGBA{A: 7}), "original_ref", ref)
	if r.status != 200 || r.json(t)["name"] != "masked.png" {
		t.Fatalf("mask upload: %d %s", r.status, r.body)
	}
	got := do(t, http.MethodGet, e.srv.URL+"/view?filename=masked.png&type=input", nil, nil)
	img, err := png.Decode(bytes.NewReader(got.body))
	if err != nil {
		t.Fatal(err)
	}
	if c := color.NRGBAModel.Convert(img.At(1, 1)).(color.NRGBA); c != (color.NRGBA{R: 10, G: 20, B: 30, A: 7}) {
		t.Errorf("masked pixel %v, want the image's color with the mask's alpha", c)
	}
	if r := upload(t, e.srv.URL, "/upload/mask", "m2.png", testPNG(t, 1, 1, color.NRGBA{}), "original_ref", "{"); r.status != 500 {
		t.Errorf("malformed original_ref: %d, want 500", r.status)
	}
	if r := upload(t, e.srv.URL, "/upload/mask", "m3.png", testPNG(t, 1, 1, color.NRGBA{}), "original_ref", `{"filename": "../x.png"}`); r.status != 200 {
		t.Errorf("unusable original_ref: %d, want ComfyUI's silent 200", r.status)
	}
	if r := do(t, http.MethodGet, e.srv.URL+"/view?filename=m3.png&type=input", nil, nil); r.status != 404 {
		t.Errorf("an unusable original_ref wrote a file: %d", r.status)
	}
}

func TestOutputNamesUniqueAcrossBackends(t *testing.T) {
	h, _ := newIdleHandler(t)
	ctx := context.Background()
	ref := comfy.FileRef{Filename: "ComfyUI_00001_.png", Subfolder: "", Type: "output"}
	name := func(jobID, backend string, cached bool) string {
		n, err := h.names.outputName(ctx, "", jobID, backend, ref, cached)
		if err != nil {
			t.Fatal(err)
		}
		return n.Filename
	}
	if got := name("j1", "gpu-1", false); got != "ComfyUI_00001_.png" {
		t.Errorf("first file: %s", got)
	}
	if got := name("j2", "gpu-2", false); got != "ComfyUI_00002_.png" {
		t.Errorf("the same name from another backend: %s, want the next counter", got)
	}
	if got := name("j1", "gpu-1", false); got != "ComfyUI_00001_.png" {
		t.Errorf("the same job asking again: %s", got)
	}
	if got := name("j3", "gpu-1", true); got != "ComfyUI_00001_.png" {
		t.Errorf("a cached re-run reporting gpu-1's old file: %s, want its old name", got)
	}
	if got := name("j4", "gpu-1", false); got != "ComfyUI_00003_.png" {
		t.Errorf("gpu-1 reusing the name for a new file (restart): %s, want a new name", got)
	}
	plain := comfy.FileRef{Filename: "clip.mp4", Type: "output"}
	for i, want := range []string{"clip.mp4", "clip (1).mp4"} {
		if got, _ := h.names.outputName(ctx, "", "v"+itoa(i), "gpu-1", plain, false); got.Filename != want {
			t.Errorf("plain name %d: %s, want %s", i, got.Filename, want)
		}
	}
}

// TestOutputNamesLeaveOutTheOutputFolder: a file the backend wrote in one
// of comfygate's output folders (job.OutputFolder) is shown in the folder
// the graph asked for, with a counter of that folder, and /history and
// /view agree on it.
func TestOutputNamesLeaveOutTheOutputFolder(t *testing.T) {
	h, store := newIdleHandler(t)
	ctx := context.Background()
	f1, f2 := job.OutputFolder(strings.Repeat("a1", 16)), job.OutputFolder(strings.Repeat("b2", 16))
	tests := []struct {
		name, job, sub    string
		wantName, wantSub string
	}{
		{"the output folder itself", "j1", f1, "ComfyUI_00001_.png", ""},
		{"a folder the graph asked for", "j2", f1 + "/portraits", "ComfyUI_00001_.png", "portraits"},
		{"the next job in that folder", "j3", f2 + "/portraits", "ComfyUI_00002_.png", "portraits"},
		{"the next job in the root", "j4", f2, "ComfyUI_00002_.png", ""},
		{"a folder that is not one", "j5", "comfygate/j1", "ComfyUI_00001_.png", "comfygate/j1"},
	}
	for _, tt := range tests {
		ref := comfy.FileRef{Filename: "ComfyUI_00001_.png", Subfolder: tt.sub, Type: "output"}
		got, err := h.names.outputName(ctx, "", tt.job, "gpu-1", ref, false)
		if err != nil {
			t.Fatal(err)
		}
		want := comfy.FileRef{Filename: tt.wantName, Subfolder: tt.wantSub, Type: "output"}
		if got != want {
			t.Errorf("%s: shown as %+v, want %+v", tt.name, got, want)
		}
		f, err := store.GetComfyFile(ctx, "", "output", tt.wantSub, tt.wantName)
		if err != nil || f.OriginSubfolder != tt.sub || f.JobID != tt.job {
			t.Errorf("%s: stored %+v, %v; want the backend's subfolder %q as its origin", tt.name, f, err, tt.sub)
		}
	}
}
