package tensor

import (
	"bytes"
	"image"
	"image/color"
	"math"

	"github.com/comfygate/comfygate/internal/imaging"
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

// Decode decodes PNG, JPEG, GIF, BMP or WebP data after checking its declared
// size against lim, so that a small file cannot claim a huge canvas. Data
// that is not an image is imaging.ErrUnidentified.
func Decode(lim Limits, data []byte) (image.Image, string, error) {
	return imaging.Decode(bytes.NewReader(data), func(cfg image.Config) error {
		return lim.Check(1, cfg.Height, cfg.Width)
	})
}
