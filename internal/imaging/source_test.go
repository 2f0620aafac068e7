package imaging

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"testing"

	"golang.org/x/image/webp"
)

// pngOf encodes img with Go's encoder and opens it as a streamed PNG.
func pngOf(t testing.TB, img image.Image) *PNG {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	p, err := OpenPNG(bytes.NewReader(b.Bytes()), PNGOptions{Text: true})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestWritePNG(t *testing.T) {
	t.Parallel()
	img := noise(70, 50, 11)
	tests := []struct {
		name      string
		src       Source
		wantModel color.Model
		want      func(c color.NRGBA) color.NRGBA
	}{
		{"RGBA stays RGBA", pngOf(t, img), color.NRGBAModel, func(c color.NRGBA) color.NRGBA { return c }},
		{"opaque is RGB", Opaque(pngOf(t, img)), color.RGBAModel, func(c color.NRGBA) color.NRGBA { c.A = 0xff; return c }},
		{"alpha only", AlphaOnly(pngOf(t, img)), color.NRGBAModel, func(c color.NRGBA) color.NRGBA { return color.NRGBA{A: c.A} }},
		{"alpha only of an opaque image", AlphaOnly(pngOf(t, gradient(70, 50))), color.NRGBAModel, func(color.NRGBA) color.NRGBA { return color.NRGBA{A: 0xff} }},
		{"from memory", FromImage(img), color.NRGBAModel, func(c color.NRGBA) color.NRGBA { return c }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			text := []TextChunk{{"prompt", "{}"}, {"workflow", "☃"}}
			if err := WritePNG(&out, tt.src, text); err != nil {
				t.Fatal(err)
			}
			got, err := png.Decode(bytes.NewReader(out.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if got.ColorModel() != tt.wantModel {
				t.Errorf("colour model %v, want %v", got.ColorModel(), tt.wantModel)
			}
			for y := range 50 {
				for x := range 70 {
					src := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
					if tt.name == "alpha only of an opaque image" {
						src = color.NRGBA{}
					}
					want := tt.want(src)
					have := color.NRGBAModel.Convert(got.At(x, y)).(color.NRGBA)
					if want.A == 0 {
						want, have = color.NRGBA{}, color.NRGBA{A: have.A}
					}
					if have != want {
						t.Fatalf("pixel (%d,%d) = %v, want %v", x, y, have, want)
					}
				}
			}
			if gotText, _ := ReadText(out.Bytes()); len(gotText) != 2 || gotText[1] != text[1] {
				t.Errorf("text %v, want %v", gotText, text)
			}
		})
	}
}

// TestWriteJPEGMatchesGo: the band-at-a-time encoding is byte for byte
// Go's encoding of the whole image, so Go's encoder still reads the rows
// in the order the band assumes.
func TestWriteJPEGMatchesGo(t *testing.T) {
	t.Parallel()
	for _, size := range []image.Point{{1, 1}, {17, 33}, {64, 16}, {100, 47}} {
		img := noise(size.X, size.Y, uint64(size.X))
		opaque := image.NewRGBA(img.Rect)
		for i := 0; i < len(img.Pix); i += 4 {
			copy(opaque.Pix[i:i+3], img.Pix[i:i+3])
			opaque.Pix[i+3] = 0xff
		}
		var want, got bytes.Buffer
		if err := jpeg.Encode(&want, opaque, &jpeg.Options{Quality: 80}); err != nil {
			t.Fatal(err)
		}
		if err := WriteJPEG(&got, pngOf(t, img), 80); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(want.Bytes(), got.Bytes()) {
			t.Errorf("%v: the streamed JPEG differs from Go's", size)
		}
	}
}

func TestWithAlpha(t *testing.T) {
	t.Parallel()
	img := gradient(8, 6)
	mask := image.NewNRGBA(image.Rect(0, 0, 4, 12)) // half as wide, twice as tall
	for y := range 12 {
		for x := range 4 {
			mask.SetNRGBA(x, y, color.NRGBA{A: uint8(10*y + x)})
		}
	}
	got := readAll(t, WithAlpha(pngOf(t, img), pngOf(t, mask)))
	for y := range 6 {
		for x := range 8 {
			c := got.NRGBAAt(x, y)
			src := img.RGBAAt(x, y)
			if want := uint8(10*(y*2) + x/2); c.A != want || c.R != src.R || c.G != src.G || c.B != src.B {
				t.Fatalf("pixel (%d,%d) = %v, want %v with alpha %d", x, y, c, src, want)
			}
		}
	}
	short := rawPNG{w: 4, h: 12, depth: 8, ctype: ctRGBA, lines: make([]byte, 11*17)}.bytes()
	sm, err := OpenPNG(bytes.NewReader(short), PNGOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(WithAlpha(pngOf(t, img), sm)); err == nil {
		t.Error("a mask with rows missing went unnoticed")
	}
}

func TestStreamedWebP(t *testing.T) {
	t.Parallel()
	img := noise(300, 200, 5) // well past one flush of the bit writer
	p, err := PlanWebP(pngOf(t, img))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	n, err := p.WriteTo(&out)
	if err != nil || n != p.Size() || int64(out.Len()) != n {
		t.Fatalf("wrote %d of %d bytes: %v", n, p.Size(), err)
	}
	got, err := webp.Decode(bytes.NewReader(out.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	for y := range 200 {
		for x := range 300 {
			want := img.NRGBAAt(x, y)
			have := color.NRGBAModel.Convert(got.At(x, y)).(color.NRGBA)
			if want.A == 0 {
				want, have = color.NRGBA{}, color.NRGBA{A: have.A}
			}
			if have != want {
				t.Fatalf("pixel (%d,%d) = %v, want %v", x, y, have, want)
			}
		}
	}
}

// changing is a source whose second pass differs from its first.
type changing struct {
	Source
	passes int
}

func (c *changing) Rows() (Rows, error) {
	c.passes++
	if c.passes == 2 {
		return FromImage(gradient(c.Size())).Rows()
	}
	return c.Source.Rows()
}

func TestWebPNoticesAChangedSource(t *testing.T) {
	t.Parallel()
	p, err := PlanWebP(&changing{Source: FromImage(noise(40, 40, 1))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.WriteTo(io.Discard); err == nil {
		t.Error("a second pass with other pixels went unnoticed")
	}
}

func TestOpen(t *testing.T) {
	t.Parallel()
	var pngData, jpegData, interlaced bytes.Buffer
	_ = png.Encode(&pngData, gradient(40, 30))
	_ = jpeg.Encode(&jpegData, gradient(40, 30), nil)
	interlaced.Write(rawPNG{w: 2, h: 2, depth: 8, ctype: ctGray, interlace: 1, lines: adam7Gray2x2(),
		after: [][2]string{{"tEXt", "k\x00v"}}}.bytes())
	bg := context.Background()
	tests := []struct {
		name       string
		data       []byte
		opts       OpenOptions
		wantFormat string
		streams    bool
		err        error
	}{
		{"PNG streams without a budget", pngData.Bytes(), OpenOptions{MaxPixels: 1200}, "png", true, nil},
		{"JPEG is decoded within the budget", jpegData.Bytes(), OpenOptions{MaxPixels: 1200, Budget: NewBudget(1 << 20)}, "jpeg", false, nil},
		{"interlaced PNG is decoded whole", interlaced.Bytes(), OpenOptions{MaxPixels: 4, Budget: NewBudget(1 << 20), Text: true}, "png", false, nil},
		{"beyond the pixel limit", pngData.Bytes(), OpenOptions{MaxPixels: 1199}, "", false, ErrTooLarge},
		{"JPEG without a budget", jpegData.Bytes(), OpenOptions{MaxPixels: 1200}, "", false, ErrTooLarge},
		{"JPEG beyond the budget", jpegData.Bytes(), OpenOptions{MaxPixels: 1200, Budget: NewBudget(1000)}, "", false, ErrTooLarge},
		{"not an image", []byte("hello"), OpenOptions{MaxPixels: 1200}, "", false, ErrUnidentified},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := Open(bg, bytes.NewReader(tt.data), tt.opts)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer m.Release()
			if _, ok := m.Source.(*PNG); ok != tt.streams || m.Format != tt.wantFormat {
				t.Errorf("format %q, streamed %v; want %q, %v", m.Format, ok, tt.wantFormat, tt.streams)
			}
			if err := Verify(m); err != nil {
				t.Fatal(err)
			}
			if tt.opts.Text && (len(m.Text()) != 1 || m.Text()[0] != (TextChunk{"k", "v"})) {
				t.Errorf("text %v", m.Text())
			}
		})
	}
}

// adam7Gray2x2 is the image data of an interlaced 2×2 8-bit grey image:
// passes 1 (pixel 0,0), 6 (pixel 1,0) and 7 (row 1).
func adam7Gray2x2() []byte {
	return []byte{0, 10, 0, 20, 0, 30, 40}
}
