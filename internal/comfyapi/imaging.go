package comfyapi

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"io"

	_ "image/gif" // GIF inputs for /view re-encodes and masks

	"github.com/HugoSmits86/nativewebp"
	_ "golang.org/x/image/bmp"  // BMP inputs
	_ "golang.org/x/image/webp" // WebP inputs
)

// errNotImage: the bytes are not an image this surface can decode (PIL's
// UnidentifiedImageError, a 500 in ComfyUI's /view).
var errNotImage = errors.New("not a decodable image")

// maxImageBytes bounds what is read of a file to re-encode it.
const maxImageBytes = 256 << 20

// decodeImage decodes r after checking the declared size against
// maxPixels, so that a small file cannot claim a huge canvas.
func decodeImage(r io.Reader, maxPixels int64) (image.Image, []byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxImageBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("read image: %w", err)
	}
	if len(data) > maxImageBytes {
		return nil, nil, fmt.Errorf("%w: larger than %d bytes", errNotImage, maxImageBytes)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", errNotImage, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return nil, nil, fmt.Errorf("%w: %dx%d is beyond the %d pixel limit", errNotImage, cfg.Width, cfg.Height, maxPixels)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", errNotImage, err)
	}
	return img, data, nil
}

func encodePNG(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("encode png: %w", err)
	}
	return buf.Bytes(), nil
}

func encodeJPEG(img image.Image, q int) ([]byte, error) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: min(max(q, 1), 100)}); err != nil {
		return nil, fmt.Errorf("encode jpeg: %w", err)
	}
	return buf.Bytes(), nil
}

// encodeWebP writes lossless WebP: ComfyUI writes lossy WebP at the asked
// quality, but clients rely on the format, not on the bytes.
func encodeWebP(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	if err := nativewebp.Encode(&buf, img, nil); err != nil {
		return nil, fmt.Errorf("encode webp: %w", err)
	}
	return buf.Bytes(), nil
}

// toNRGBA copies img into a fresh NRGBA image at the origin.
func toNRGBA(img image.Image) *image.NRGBA {
	b := img.Bounds()
	out := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(out, out.Bounds(), img, b.Min, draw.Src)
	return out
}

// dropAlpha is PIL's convert("RGB").
func dropAlpha(img image.Image) image.Image {
	out := toNRGBA(img)
	for i := 3; i < len(out.Pix); i += 4 {
		out.Pix[i] = 255
	}
	return out
}

// hasAlpha reports whether PIL would open img with an alpha band.
func hasAlpha(img image.Image) bool {
	switch img.ColorModel() {
	case color.NRGBAModel, color.NRGBA64Model, color.AlphaModel, color.Alpha16Model:
		return true
	}
	if p, ok := img.ColorModel().(color.Palette); ok {
		for _, c := range p {
			if _, _, _, a := c.RGBA(); a != 0xffff {
				return true
			}
		}
	}
	return false
}

// alphaOnly is /view's channel=a: black pixels carrying the source's alpha,
// fully opaque when the source has none.
func alphaOnly(img image.Image) image.Image {
	src := toNRGBA(img)
	keep := hasAlpha(img)
	out := image.NewNRGBA(src.Rect)
	for i := 3; i < len(out.Pix); i += 4 {
		out.Pix[i] = 255
		if keep {
			out.Pix[i] = src.Pix[i]
		}
	}
	return out
}

// withAlpha is /upload/mask: img with its alpha replaced by mask's alpha
// (nearest neighbour when the sizes differ).
func withAlpha(img, mask image.Image) image.Image {
	out := toNRGBA(img)
	m := toNRGBA(mask)
	w, h := out.Rect.Dx(), out.Rect.Dy()
	mw, mh := m.Rect.Dx(), m.Rect.Dy()
	for y := range h {
		for x := range w {
			mx, my := x*mw/max(w, 1), y*mh/max(h, 1)
			out.Pix[out.PixOffset(x, y)+3] = m.Pix[m.PixOffset(mx, my)+3]
		}
	}
	return out
}

// pngTextChunks returns the tEXt, zTXt and iTXt chunks of a PNG, whole,
// so a re-encoded image keeps its metadata (the workflow ComfyUI embeds).
func pngTextChunks(data []byte) [][]byte {
	const sig = "\x89PNG\r\n\x1a\n"
	if !bytes.HasPrefix(data, []byte(sig)) {
		return nil
	}
	var out [][]byte
	for p := len(sig); p+12 <= len(data); {
		n := int(binary.BigEndian.Uint32(data[p:]))
		if n < 0 || p+12+n > len(data) {
			break
		}
		switch string(data[p+4 : p+8]) {
		case "tEXt", "zTXt", "iTXt":
			out = append(out, data[p:p+12+n])
		}
		p += 12 + n
	}
	return out
}

// withTextChunks inserts chunks right after the IHDR chunk of a PNG.
func withTextChunks(encoded []byte, chunks [][]byte) []byte {
	const ihdrEnd = 8 + 12 + 13 // signature + IHDR chunk
	if len(chunks) == 0 || len(encoded) < ihdrEnd {
		return encoded
	}
	out := append([]byte(nil), encoded[:ihdrEnd]...)
	for _, c := range chunks {
		out = append(out, c...)
	}
	return append(out, encoded[ihdrEnd:]...)
}
