package imaging

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"math/rand/v2"
	"testing"

	"golang.org/x/image/webp"
)

// roundTrip encodes img and decodes it with x/image/webp, failing unless
// every pixel survives (alpha dropped when opaque).
func roundTrip(t testing.TB, img image.Image, opaque bool) {
	t.Helper()
	src := FromImage(img)
	if opaque {
		src = Opaque(src)
	}
	data, err := EncodeWebP(src)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := PlanWebP(src)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Size() != int64(len(data)) {
		t.Fatalf("planned %d bytes, wrote %d", plan.Size(), len(data))
	}
	got, err := webp.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	b := img.Bounds()
	if got.Bounds().Dx() != b.Dx() || got.Bounds().Dy() != b.Dy() {
		t.Fatalf("size %v, want %v", got.Bounds(), b)
	}
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			want := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
			if opaque {
				want.A = 0xff
			}
			have := color.NRGBAModel.Convert(got.At(x, y)).(color.NRGBA)
			if want.A == 0 {
				// Fully transparent pixels have no defined colour once
				// premultiplied; only the alpha must survive.
				want.R, want.G, want.B, have.R, have.G, have.B = 0, 0, 0, 0, 0, 0
			}
			if want != have {
				t.Fatalf("pixel (%d,%d) = %v, want %v", x, y, have, want)
			}
		}
	}
}

func noise(w, h int, seed uint64) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(seed, seed+1))
	for i := range img.Pix {
		img.Pix[i] = byte(r.IntN(256))
	}
	return img
}

func TestEncodeWebPRoundTrips(t *testing.T) {
	t.Parallel()
	gradient := image.NewRGBA(image.Rect(0, 0, 97, 33))
	for y := range 33 {
		for x := range 97 {
			gradient.SetRGBA(x, y, color.RGBA{uint8(x * 2), uint8(y * 7), uint8(x ^ y), 0xff})
		}
	}
	premul := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for i := range premul.Pix {
		premul.Pix[i] = byte(i)
	}
	for i := 3; i < len(premul.Pix); i += 4 {
		premul.Pix[i] = 0xff // valid premultiplied values need r,g,b ≤ a
	}
	two := image.NewGray(image.Rect(0, 0, 9, 5))
	for i := range two.Pix {
		two.Pix[i] = byte(i%2) * 200
	}
	gray16 := image.NewGray16(image.Rect(0, 0, 7, 7))
	for i := range gray16.Pix {
		gray16.Pix[i] = byte(i * 31)
	}
	pal := image.NewPaletted(image.Rect(0, 0, 10, 10), color.Palette{color.NRGBA{1, 2, 3, 0}, color.NRGBA{200, 100, 50, 255}, color.NRGBA{9, 9, 9, 128}})
	for i := range pal.Pix {
		pal.Pix[i] = byte(i % 3)
	}
	tests := []struct {
		name   string
		img    image.Image
		opaque bool
	}{
		{"noise with alpha (every symbol used)", noise(64, 48, 1), false},
		{"noise made opaque", noise(31, 17, 2), true},
		{"one pixel", noise(1, 1, 3), false},
		{"one colour (zero-bit codes)", image.NewNRGBA(image.Rect(0, 0, 5, 3)), false},
		{"two grey levels (simple codes)", two, false},
		{"gradient", gradient, false},
		{"premultiplied", premul, false},
		{"16-bit grey", gray16, false},
		{"palette with transparency", pal, false},
		{"sub-image", noise(40, 40, 4).SubImage(image.Rect(7, 9, 30, 21)), false},
		{"wide", noise(1000, 2, 5), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			roundTrip(t, tt.img, tt.opaque)
		})
	}
}

func TestEncodeWebPRefusesOversize(t *testing.T) {
	t.Parallel()
	if _, err := EncodeWebP(FromImage(image.NewGray(image.Rect(0, 0, maxWebPSide+1, 1)))); !errors.Is(err, ErrTooLarge) {
		t.Errorf("a row wider than VP8L allows: %v, want ErrTooLarge", err)
	}
}

// Skewed counts force the length limit (15 bits, 7 for the code length
// code) to be enforced: Fibonacci-like counts make a plain Huffman tree as
// deep as the alphabet.
func TestHuffmanLengthsRespectLimit(t *testing.T) {
	t.Parallel()
	counts := make([]uint64, 40)
	a, b := uint64(1), uint64(1)
	for i := range counts {
		counts[i] = a
		a, b = b, a+b
	}
	for _, limit := range []int{7, 15} {
		lengths := huffmanLengths(counts, limit)
		kraft := 0.0
		for _, l := range lengths {
			if int(l) > limit || l == 0 {
				t.Fatalf("limit %d: length %d", limit, l)
			}
			kraft += 1 / float64(uint64(1)<<l)
		}
		if kraft != 1 {
			t.Errorf("limit %d: Kraft sum %v, want a complete code", limit, kraft)
		}
	}
}

func FuzzEncodeWebP(f *testing.F) {
	f.Add(uint8(3), uint8(2), false, []byte{1, 2, 3, 4, 5, 6, 7, 8})
	f.Add(uint8(1), uint8(1), true, []byte{255})
	f.Add(uint8(16), uint8(16), false, []byte{0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, w, h uint8, opaque bool, pix []byte) {
		if w == 0 || h == 0 || len(pix) == 0 {
			return
		}
		img := image.NewNRGBA(image.Rect(0, 0, int(w), int(h)))
		for i := range img.Pix {
			img.Pix[i] = pix[i%len(pix)] ^ byte(i/len(pix))
		}
		roundTrip(t, img, opaque)
	})
}
