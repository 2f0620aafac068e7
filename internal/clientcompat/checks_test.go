package clientcompat

import (
	"bytes"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"slices"
	"testing"
)

// checkResult asserts what client cl got from run r against the server at
// base.
func checkResult(t *testing.T, e env, hc *http.Client, base string, cl client, r run, res result) {
	t.Helper()
	if want := e.pins[res.Library]; res.Version != want {
		t.Errorf("ran %s %s, want the pinned %s (reinstall: %s)", res.Library, res.Version, want, installHint)
	}
	if len(res.Images) != 1 {
		t.Fatalf("got %d images %+v, want 1", len(res.Images), res.Images)
	}
	img := res.Images[0]
	if img.Format != "png" || img.Width != r.c.width || img.Height != r.c.height {
		t.Errorf("image %s: %s %dx%d (%d bytes, head %s), want png %dx%d",
			img.Filename, img.Format, img.Width, img.Height, img.Bytes, img.Head, r.c.width, r.c.height)
	}
	if img.Type != "output" || img.Filename == "" {
		t.Errorf("image %+v: want a named file of type output", img)
	}
	if r.c.pixel != nil {
		checkPixels(t, imageBytes(t, hc, base, res, img), r.c.pixel(r.n))
	}
	if r.c.upload {
		if res.Upload == nil || res.Upload.Name == "" || res.Upload.Type != "input" {
			t.Errorf("upload answered %+v, want a name of type input", res.Upload)
		}
	}
	if !cl.reports {
		return
	}
	if res.PromptID == "" {
		t.Error("no prompt id")
	}
	h := res.History
	switch {
	case h == nil:
		t.Errorf("GET /history has no entry for prompt %s", res.PromptID)
	case h.StatusStr != "success" || !h.Completed || !slices.Contains(h.Files, img.Filename):
		t.Errorf("history of prompt %s: %+v, want success, completed, with file %s", res.PromptID, *h, img.Filename)
	}
	if r.c.sampler != "" {
		checkProgress(t, res, r.c.sampler, r.c.steps)
	}
}

// checkProgress asserts that the client's socket got one progress message
// per sampler step of its prompt, and that the library passed the last
// one to its own progress callback.
func checkProgress(t *testing.T, res result, node string, steps int) {
	t.Helper()
	var values []int
	for _, p := range res.Progress {
		if p.PromptID == res.PromptID && p.Node == node && p.Max == float64(steps) {
			values = append(values, int(p.Value))
		}
	}
	want := make([]int, steps)
	for i := range want {
		want[i] = i + 1
	}
	if !slices.Equal(values, want) {
		t.Errorf("progress of node %s in prompt %s: values %v, want %v (all progress: %+v)", node, res.PromptID, values, want, res.Progress)
	}
	last := progress{Node: node, Value: float64(steps), Max: float64(steps)}
	if !slices.ContainsFunc(res.LibraryProgress, func(p progress) bool {
		return p.Node == last.Node && p.Value == last.Value && p.Max == last.Max
	}) {
		t.Errorf("the library's progress callback never got step %d/%d of node %s: %+v", steps, steps, node, res.LibraryProgress)
	}
}

// imageBytes is the file the client got: the one it downloaded, or the
// same file fetched again from /view as the client did.
func imageBytes(t *testing.T, hc *http.Client, base string, res result, img imageInfo) []byte {
	t.Helper()
	if data, ok := res.downloaded[img.Filename]; ok {
		return data
	}
	q := url.Values{"filename": {img.Filename}, "subfolder": {img.Subfolder}, "type": {img.Type}}
	resp, err := hc.Get(base + "/view?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /view?%s: %s %q", q.Encode(), resp.Status, tail(data))
	}
	return data
}

// checkPixels asserts that every pixel of a PNG is want, ±1 per channel.
func checkPixels(t *testing.T, data []byte, want color.RGBA) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decode the output: %v", err)
	}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if got := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA); !near(got, want) {
				t.Fatalf("pixel (%d,%d) of the %v output is %v, want %v", x, y, b.Size(), got, want)
			}
		}
	}
}

func near(a, b color.RGBA) bool {
	d := func(x, y uint8) bool { return x-y <= 1 || y-x <= 1 }
	return d(a.R, b.R) && d(a.G, b.G) && d(a.B, b.B)
}
