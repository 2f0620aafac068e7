package imaging

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"

	// Formats LoadImage and /view accept besides PNG and JPEG.
	_ "image/gif"

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/webp"
)

// ErrUnidentified is returned for data that is not an image this package
// knows (PIL's UnidentifiedImageError).
var ErrUnidentified = errors.New("cannot identify image file")

// ErrTooLarge is returned for an image beyond a size or memory limit.
var ErrTooLarge = errors.New("image too large")

// Config reads an image's header: size, colour model and format, without
// decoding pixels. Data that is not an image it knows is ErrUnidentified.
func Config(r io.Reader) (image.Config, string, error) {
	cfg, format, err := image.DecodeConfig(r)
	if err != nil {
		return image.Config{}, "", ErrUnidentified
	}
	return cfg, format, nil
}

// Decode decodes a PNG, JPEG, GIF, BMP or WebP image whole, after check
// accepted its header (so that a small file cannot claim a huge canvas
// and have it allocated). r is read from its current offset twice: once
// for the header, once for the pixels.
func Decode(r io.ReadSeeker, check func(image.Config) error) (image.Image, string, error) {
	start, err := r.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, "", err
	}
	cfg, _, err := Config(r)
	if err != nil {
		return nil, "", err
	}
	if err := check(cfg); err != nil {
		return nil, "", err
	}
	if _, err := r.Seek(start, io.SeekStart); err != nil {
		return nil, "", err
	}
	img, format, err := image.Decode(r)
	if err != nil {
		return nil, "", fmt.Errorf("decode %s: %w", format, err)
	}
	return img, format, nil
}

// EncodePNG encodes an image held in memory, adding text chunks (key and
// value, in order) before the image data the way PIL's PngInfo does.
// ComfyUI saves at zlib level 4 and previews at level 1; both map to Go's
// fastest setting here.
func EncodePNG(img image.Image, text []TextChunk) ([]byte, error) {
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("encode png: %w", err)
	}
	if len(text) == 0 {
		return buf.Bytes(), nil
	}
	return InsertText(buf.Bytes(), text)
}

// EncodeJPEG encodes an image held in memory at quality q (1..100),
// dropping alpha.
func EncodeJPEG(img image.Image, q int) ([]byte, error) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: min(max(q, 1), 100)}); err != nil {
		return nil, fmt.Errorf("encode jpeg: %w", err)
	}
	return buf.Bytes(), nil
}
