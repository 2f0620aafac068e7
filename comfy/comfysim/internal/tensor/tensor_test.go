package tensor

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/comfygate/comfygate/internal/imaging"
)

// ramp returns a 1×h×w single-image batch whose red channel numbers pixels.
func ramp(h, w int) *Batch {
	b := &Batch{N: 1, H: h, W: w, C: 3, Pix: make([]float32, h*w*3)}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			b.Pix[b.Index(0, y, x)] = float32(y*w + x)
		}
	}
	return b
}

func reds(b *Batch) []float32 {
	var out []float32
	for i := 0; i < len(b.Pix); i += b.C {
		out = append(out, b.Pix[i])
	}
	return out
}

func TestGeometry(t *testing.T) {
	// 2 rows × 3 columns:
	// 0 1 2
	// 3 4 5
	src := ramp(2, 3)
	tests := []struct {
		name string
		got  *Batch
		h, w int
		want []float32
	}{
		{"flip vertical", Flip(src, true), 2, 3, []float32{3, 4, 5, 0, 1, 2}},
		{"flip horizontal", Flip(src, false), 2, 3, []float32{2, 1, 0, 5, 4, 3}},
		// torch.rot90(k=1, dims=[2,1]) turns clockwise.
		{"rotate 90", Rotate(src, 1), 3, 2, []float32{3, 0, 4, 1, 5, 2}},
		{"rotate 180", Rotate(src, 2), 2, 3, []float32{5, 4, 3, 2, 1, 0}},
		{"rotate 270", Rotate(src, 3), 3, 2, []float32{2, 5, 1, 4, 0, 3}},
		{"crop", Crop(src, 2, 5, 1, 0), 2, 2, []float32{1, 2, 4, 5}},
		{"crop clamps origin", Crop(src, 4, 4, 9, 9), 1, 1, []float32{5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got.H != tt.h || tt.got.W != tt.w {
				t.Fatalf("size %dx%d, want %dx%d", tt.got.W, tt.got.H, tt.w, tt.h)
			}
			if diff := cmp.Diff(tt.want, reds(tt.got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	lim := Limits{MaxSide: 100, MaxPixels: 1000}
	if _, err := NewBatch(lim, 1, 101, 1, 3); !errors.Is(err, ErrTooLarge) {
		t.Errorf("side: err = %v", err)
	}
	if _, err := NewBatch(lim, 2, 30, 20, 3); !errors.Is(err, ErrTooLarge) {
		t.Errorf("pixels: err = %v", err)
	}
	if _, err := NewBatch(lim, 1, 10, 10, 3); err != nil {
		t.Errorf("small: %v", err)
	}
}

func TestDecodeRejectsBomb(t *testing.T) {
	// A valid PNG header claiming a 100000×100000 canvas.
	img := image.NewGray(image.Rect(0, 0, 1, 1))
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	// IHDR width/height live at bytes 16..24, its CRC at 29..33.
	copy(data[16:24], []byte{0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0})
	binary.BigEndian.PutUint32(data[29:33], crc32.ChecksumIEEE(data[12:29]))
	if _, _, err := Decode(Limits{}, data); !errors.Is(err, ErrTooLarge) {
		t.Errorf("err = %v, want ErrTooLarge", err)
	}
	if _, _, err := Decode(Limits{}, []byte("this is not an image")); !errors.Is(err, imaging.ErrUnidentified) {
		t.Errorf("err = %v, want ErrUnidentified", err)
	}
}

func TestPNGTextRoundTrip(t *testing.T) {
	b, err := Solid(Limits{}, 1, 4, 4, 0x336699)
	if err != nil {
		t.Fatal(err)
	}
	text := []imaging.TextChunk{{Key: "prompt", Value: `{"1": {}}`}, {Key: "workflow", Value: "caf\u00e9 \u2603"}}
	data, err := imaging.EncodePNG(ToImage(b, 0), text)
	if err != nil {
		t.Fatal(err)
	}
	got, err := imaging.ReadText(data)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(text, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("png with text chunks does not decode: %v", err)
	}
	if c := color.RGBAModel.Convert(img.At(0, 0)).(color.RGBA); c.R != 0x33 || c.G != 0x66 || c.B != 0x99 {
		t.Errorf("pixel = %v", c)
	}
}

func TestBlurKeepsConstantImage(t *testing.T) {
	b, _ := Solid(Limits{}, 2, 8, 8, 0x808080)
	out, err := Blur(b, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range out.Pix {
		if d := v - b.Pix[i]; d > 1e-5 || d < -1e-5 {
			t.Fatalf("pixel %d changed: %v -> %v", i, b.Pix[i], v)
		}
	}
	if _, err := Blur(b, 8, 1); err == nil {
		t.Error("radius >= size: want torch's padding error")
	}
}

func TestPatternDeterministic(t *testing.T) {
	a, _ := Pattern(Limits{}, 16, 24, []uint64{Seed("x", "1"), Seed("x", "2")})
	b, _ := Pattern(Limits{}, 16, 24, []uint64{Seed("x", "1"), Seed("x", "2")})
	if !cmp.Equal(a.Pix, b.Pix) {
		t.Error("same seeds gave different pixels")
	}
	if cmp.Equal(a.Image(0).Pix, a.Image(1).Pix) {
		t.Error("different seeds gave the same image")
	}
}

func TestResize(t *testing.T) {
	src, _ := Solid(Limits{}, 1, 48, 64, 0xff0000)
	for _, m := range []string{"nearest-exact", "bilinear", "area", "bicubic", "lanczos"} {
		out, err := Resize(Limits{}, src, 96, 72, m, false)
		if err != nil {
			t.Fatal(err)
		}
		if out.W != 96 || out.H != 72 || out.Pix[0] != 1 {
			t.Errorf("%s: %dx%d first=%v", m, out.W, out.H, out.Pix[0])
		}
	}
	out, _ := Resize(Limits{}, src, 32, 32, "area", true)
	if out.W != 32 || out.H != 32 {
		t.Errorf("center crop: %dx%d", out.W, out.H)
	}
}
