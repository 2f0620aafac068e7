package comfyapi

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/image/webp"

	"github.com/comfygate/comfygate/internal/imaging"
)

// TestReencodeBounds: re-encodes stay within MaxImagePixels and the image
// budget, and say so with a 422 beyond them; a PNG too big to decode
// whole within the budget still streams.
func TestReencodeBounds(t *testing.T) {
	e := newEnv(t, envOptions{cfg: func(c *Config) {
		c.MaxImagePixels = 200 * 200
		c.ImageBudgetBytes = 64 << 10 // far less than a 200×200 image decoded whole
	}})
	big := testPNG(t, 201, 200, color.NRGBA{R: 1, A: 255})
	streams := testPNG(t, 200, 200, color.NRGBA{R: 9, G: 8, B: 7, A: 255})
	var jpg bytes.Buffer
	_ = jpeg.Encode(&jpg, image.NewGray(image.Rect(0, 0, 200, 200)), nil)
	for name, data := range map[string][]byte{"big.png": big, "streams.png": streams, "whole.jpg": jpg.Bytes()} {
		if r := upload(t, e.srv.URL, "/upload/image", name, data); r.status != 200 {
			t.Fatalf("upload %s: %d", name, r.status)
		}
	}
	tests := []struct {
		name, query string
		status      int
		body        string // in a refusal
	}{
		{"beyond the pixel limit", "filename=big.png&type=input&preview=webp;90", 422, "201x200 is beyond the 40000 pixel limit"},
		{"a JPEG beyond the budget", "filename=whole.jpg&type=input&channel=rgb", 422, "the budget is 65536"},
		{"a PNG streams past the budget: webp", "filename=streams.png&type=input&preview=webp;90", 200, ""},
		{"... jpeg", "filename=streams.png&type=input&preview=jpeg;50", 200, ""},
		{"... rgb", "filename=streams.png&type=input&channel=rgb", 200, ""},
		{"... alpha", "filename=streams.png&type=input&channel=a", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, http.MethodGet, e.srv.URL+"/view?"+tt.query, nil, nil)
			if r.status != tt.status {
				t.Fatalf("%d %s, want %d", r.status, r.body, tt.status)
			}
			if tt.status != 200 {
				if !strings.Contains(string(r.body), tt.body) {
					t.Errorf("refusal %q does not say %q", r.body, tt.body)
				}
				return
			}
			img, _, err := image.Decode(bytes.NewReader(r.body))
			if err != nil {
				t.Fatal(err)
			}
			want := color.NRGBA{R: 9, G: 8, B: 7, A: 255}
			if strings.Contains(tt.query, "channel=a") {
				want = color.NRGBA{A: 255}
			}
			got := color.NRGBAModel.Convert(img.At(100, 100)).(color.NRGBA)
			if img.Bounds().Dx() != 200 || !strings.Contains(tt.query, "jpeg") && got != want {
				t.Errorf("%v, pixel %v, want 200 wide and %v", img.Bounds(), got, want)
			}
		})
	}
}

// TestUploadMaskStreams: the merge keeps the original's text chunks (after
// the image data too) and takes the mask's alpha, scaled.
func TestUploadMaskStreams(t *testing.T) {
	e := newEnv(t, envOptions{})
	src := image.NewNRGBA(image.Rect(0, 0, 64, 32))
	for i := 0; i < len(src.Pix); i += 4 {
		src.Pix[i], src.Pix[i+1], src.Pix[i+2], src.Pix[i+3] = 10, 20, 30, 255
	}
	var plain bytes.Buffer
	_ = png.Encode(&plain, src)
	withText, err := imaging.InsertText(plain.Bytes(), []imaging.TextChunk{{Key: "prompt", Value: `{"1": {}}`}})
	if err != nil {
		t.Fatal(err)
	}
	upload(t, e.srv.URL, "/upload/image", "orig.png", withText)
	mask := image.NewNRGBA(image.Rect(0, 0, 32, 16))
	for y := range 16 {
		for x := range 32 {
			mask.SetNRGBA(x, y, color.NRGBA{A: uint8(x * 8)})
		}
	}
	var m bytes.Buffer
	_ = png.Encode(&m, mask)
	ref := `{"filename": "orig.png", "subfolder": "", "type": "input"}`
	if r := upload(t, e.srv.URL, "/upload/mask", "merged.png", m.Bytes(), "original_ref", ref); r.status != 200 {
		t.Fatalf("mask: %d %s", r.status, r.body)
	}
	got := do(t, http.MethodGet, e.srv.URL+"/view?filename=merged.png&type=input", nil, nil)
	img, err := png.Decode(bytes.NewReader(got.body))
	if err != nil {
		t.Fatal(err)
	}
	if c := color.NRGBAModel.Convert(img.At(10, 5)).(color.NRGBA); c != (color.NRGBA{10, 20, 30, 40}) {
		t.Errorf("pixel (10,5) = %v, want the original's colour with the mask's alpha 40", c)
	}
	if text, _ := imaging.ReadText(got.body); len(text) != 1 || text[0].Key != "prompt" {
		t.Errorf("text %v, want the original's prompt", text)
	}
	if r := upload(t, e.srv.URL, "/upload/image", "junk.png", []byte("not an image")); r.status != 200 {
		t.Fatal(r.status)
	}
	junk := `{"filename": "junk.png", "subfolder": "", "type": "input"}`
	if r := upload(t, e.srv.URL, "/upload/mask", "m.png", m.Bytes(), "original_ref", junk); r.status != 500 {
		t.Errorf("an original that is no image: %d, want ComfyUI's 500 (PIL raises)", r.status)
	}
}

// TestPreviewWebPDecodes: the streamed WebP is a whole image with a
// Content-Length.
func TestPreviewWebPDecodes(t *testing.T) {
	e := newEnv(t, envOptions{})
	upload(t, e.srv.URL, "/upload/image", "p.png", testPNG(t, 300, 120, color.NRGBA{R: 200, G: 100, B: 50, A: 128}))
	r := do(t, http.MethodGet, e.srv.URL+"/view?filename=p.png&type=input&preview=webp;90", nil, nil)
	if r.status != 200 || r.header.Get("Content-Length") == "" {
		t.Fatalf("%d, Content-Length %q", r.status, r.header.Get("Content-Length"))
	}
	img, err := webp.Decode(bytes.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	if c := color.NRGBAModel.Convert(img.At(299, 119)).(color.NRGBA); c != (color.NRGBA{200, 100, 50, 128}) {
		t.Errorf("pixel %v", c)
	}
}
