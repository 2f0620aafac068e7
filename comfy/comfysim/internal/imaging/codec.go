package imaging

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math"

	// Formats LoadImage and /view accept besides PNG and JPEG.
	_ "image/gif"

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/webp"
)

func to8(v float32) uint8 {
	// numpy: np.clip(255. * v, 0, 255).astype(np.uint8) truncates.
	f := float64(v) * 255
	if f <= 0 || math.IsNaN(f) {
		return 0
	}
	if f >= 255 {
		return 255
	}
	return uint8(f)
}

// ToImage converts image i of b to an 8-bit image (NRGBA when b has alpha).
func ToImage(b *Batch, i int) image.Image {
	r := image.Rect(0, 0, b.W, b.H)
	if b.C == 4 {
		img := image.NewNRGBA(r)
		for y := 0; y < b.H; y++ {
			for x := 0; x < b.W; x++ {
				s := b.Index(i, y, x)
				img.SetNRGBA(x, y, color.NRGBA{to8(b.Pix[s]), to8(b.Pix[s+1]), to8(b.Pix[s+2]), to8(b.Pix[s+3])})
			}
		}
		return img
	}
	img := image.NewRGBA(r)
	for y := 0; y < b.H; y++ {
		for x := 0; x < b.W; x++ {
			s := b.Index(i, y, x)
			o := img.PixOffset(x, y)
			img.Pix[o], img.Pix[o+1], img.Pix[o+2], img.Pix[o+3] = to8(b.Pix[s]), to8(b.Pix[s+1]), to8(b.Pix[s+2]), 255
		}
	}
	return img
}

// FromImage converts a decoded image to an RGB batch of one and the mask
// LoadImage derives from its alpha (1 - alpha; nil when there is no alpha).
func FromImage(lim Limits, img image.Image) (*Batch, *Mask, error) {
	r := img.Bounds()
	b, err := NewBatch(lim, 1, r.Dy(), r.Dx(), 3)
	if err != nil {
		return nil, nil, err
	}
	var mask *Mask
	if hasAlphaBand(img) || transparentPalette(img) {
		mask = &Mask{N: 1, H: b.H, W: b.W, Pix: make([]float32, b.H*b.W)}
	}
	for y := 0; y < b.H; y++ {
		for x := 0; x < b.W; x++ {
			c := color.NRGBAModel.Convert(img.At(r.Min.X+x, r.Min.Y+y)).(color.NRGBA)
			o := b.Index(0, y, x)
			b.Pix[o], b.Pix[o+1], b.Pix[o+2] = float32(c.R)/255, float32(c.G)/255, float32(c.B)/255
			if mask != nil {
				mask.Pix[y*b.W+x] = 1 - float32(c.A)/255
			}
		}
	}
	return b, mask, nil
}

// hasAlphaBand reports whether PIL would open img in a mode with an alpha
// band ("RGBA"): Go's PNG decoder returns NRGBA for RGBA files and RGBA for
// opaque RGB files.
func hasAlphaBand(img image.Image) bool {
	switch img.(type) {
	case *image.NRGBA, *image.NRGBA64:
		return true
	}
	return false
}

// transparentPalette is PIL's mode "P" with a "transparency" entry.
func transparentPalette(img image.Image) bool {
	p, ok := img.(*image.Paletted)
	return ok && !p.Opaque()
}

// ErrUnidentified is returned by Decode for data that is not an image it
// knows (PIL's UnidentifiedImageError).
var ErrUnidentified = errors.New("cannot identify image file")

// Config reads an image's header: size, colour model and format, without
// decoding pixels. Data that is not an image it knows is ErrUnidentified.
func Config(r io.Reader) (image.Config, string, error) {
	cfg, format, err := image.DecodeConfig(r)
	if err != nil {
		return image.Config{}, "", ErrUnidentified
	}
	return cfg, format, nil
}

// Decode decodes PNG, JPEG, GIF, BMP or WebP data after checking its declared
// size against lim, so that a small file cannot claim a huge canvas.
func Decode(lim Limits, data []byte) (image.Image, string, error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, "", ErrUnidentified
	}
	if err := lim.Check(1, cfg.Height, cfg.Width); err != nil {
		return nil, "", err
	}
	img, format, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, "", fmt.Errorf("decode %s: %w", format, err)
	}
	return img, format, nil
}

// Compression picks PNG speed: ComfyUI saves at zlib level 4 and previews at
// level 1; both map to Go's fastest setting here.
func pngEncoder() *png.Encoder {
	return &png.Encoder{CompressionLevel: png.BestSpeed}
}

// EncodePNG encodes img, adding text chunks (key/value in order) before the
// image data the way PIL's PngInfo does.
func EncodePNG(img image.Image, text []TextChunk) ([]byte, error) {
	var buf bytes.Buffer
	if err := pngEncoder().Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("encode png: %w", err)
	}
	if len(text) == 0 {
		return buf.Bytes(), nil
	}
	return InsertText(buf.Bytes(), text)
}

// EncodeJPEG encodes img at quality q (1..100), dropping alpha.
func EncodeJPEG(img image.Image, q int) ([]byte, error) {
	q = min(max(q, 1), 100)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: q}); err != nil {
		return nil, fmt.Errorf("encode jpeg: %w", err)
	}
	return buf.Bytes(), nil
}

// DropAlpha returns img as opaque RGB (PIL's convert("RGB")).
func DropAlpha(img image.Image) image.Image {
	r := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	for y := 0; y < r.Dy(); y++ {
		for x := 0; x < r.Dx(); x++ {
			c := color.NRGBAModel.Convert(img.At(r.Min.X+x, r.Min.Y+y)).(color.NRGBA)
			o := out.PixOffset(x, y)
			out.Pix[o], out.Pix[o+1], out.Pix[o+2], out.Pix[o+3] = c.R, c.G, c.B, 255
		}
	}
	return out
}

// AlphaOnly is /view's channel=a: a transparent black image whose alpha is
// the source's alpha, or fully opaque when the source has none.
func AlphaOnly(img image.Image) image.Image {
	r := img.Bounds()
	out := image.NewNRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	alpha := hasAlphaBand(img)
	for y := 0; y < r.Dy(); y++ {
		for x := 0; x < r.Dx(); x++ {
			a := uint8(255)
			if alpha {
				a = color.NRGBAModel.Convert(img.At(r.Min.X+x, r.Min.Y+y)).(color.NRGBA).A
			}
			out.Pix[out.PixOffset(x, y)+3] = a
		}
	}
	return out
}

// WithAlpha returns img (as RGBA) with its alpha replaced by mask's alpha,
// as /upload/mask does; mask is scaled by nearest neighbour if sizes differ.
func WithAlpha(img, mask image.Image) image.Image {
	r := img.Bounds()
	mr := mask.Bounds()
	out := image.NewNRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	for y := 0; y < r.Dy(); y++ {
		for x := 0; x < r.Dx(); x++ {
			c := color.NRGBAModel.Convert(img.At(r.Min.X+x, r.Min.Y+y)).(color.NRGBA)
			mx := mr.Min.X + x*mr.Dx()/max(r.Dx(), 1)
			my := mr.Min.Y + y*mr.Dy()/max(r.Dy(), 1)
			c.A = color.NRGBAModel.Convert(mask.At(mx, my)).(color.NRGBA).A
			out.SetNRGBA(x, y, c)
		}
	}
	return out
}
