package imaging

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
)

// WriteJPEG encodes src as a JPEG at quality q (1..100), dropping alpha,
// as it reads it: Go's encoder walks the image in bands of 16 rows, top to
// bottom, and only the current band is held.
func WriteJPEG(w io.Writer, src Source, q int) error {
	rows, err := src.Rows()
	if err != nil {
		return err
	}
	defer rows.Close()
	width, height := src.Size()
	b := &bandImage{rows: rows, w: width, h: height, band: make([]byte, 0, jpegBand*4*width)}
	if err := jpeg.Encode(w, b, &jpeg.Options{Quality: min(max(q, 1), 100)}); err != nil {
		return fmt.Errorf("encode jpeg: %w", err)
	}
	if b.err != nil {
		return b.err
	}
	for b.y0+len(b.band)/(4*width) < height { // rows the encoder did not need
		if _, err := rows.Next(); err != nil {
			return err
		}
		b.y0++
	}
	if _, err := rows.Next(); !errors.Is(err, io.EOF) {
		if err == nil {
			err = errLongImage
		}
		return err
	}
	return nil
}

// jpegBand is the height of the encoder's macroblock rows.
const jpegBand = 16

// errJPEGOrder would mean Go's encoder no longer reads bands in order.
var errJPEGOrder = errors.New("encode jpeg: the encoder read rows out of order")

// bandImage is an image.Image over a pass of rows that holds one band of
// jpegBand rows: reading a row below the band moves the band down.
type bandImage struct {
	rows Rows
	w, h int
	band []byte // rows y0 … y0+len(band)/(4w)-1
	y0   int
	err  error
	px   pixel // the colour At returns; see pixel
}

func (b *bandImage) ColorModel() color.Model { return color.RGBAModel }
func (b *bandImage) Bounds() image.Rectangle { return image.Rect(0, 0, b.w, b.h) }

// At returns the colour at (x, y). The encoder calls RGBA on it at once,
// so one value is reused rather than a colour allocated per pixel.
func (b *bandImage) At(x, y int) color.Color {
	if y < b.y0 || b.err != nil {
		if b.err == nil {
			b.err = errJPEGOrder
		}
		b.px = pixel{}
		return &b.px
	}
	for y >= b.y0+len(b.band)/(4*b.w) {
		if !b.advance() {
			b.px = pixel{}
			return &b.px
		}
	}
	o := (y-b.y0)*4*b.w + 4*x
	b.px = pixel{b.band[o], b.band[o+1], b.band[o+2]}
	return &b.px
}

// advance reads the next band.
func (b *bandImage) advance() bool {
	b.y0 += len(b.band) / (4 * b.w)
	b.band = b.band[:0]
	for i := 0; i < jpegBand && b.y0+i < b.h; i++ {
		row, err := b.rows.Next()
		if errors.Is(err, io.EOF) {
			err = errShortImage
		}
		if err != nil {
			b.err = err
			return false
		}
		b.band = append(b.band, row...)
	}
	return len(b.band) > 0
}

// pixel is an opaque colour; alpha is dropped, as PIL's convert("RGB").
type pixel struct{ r, g, b byte }

func (p *pixel) RGBA() (r, g, b, a uint32) {
	return uint32(p.r) * 0x101, uint32(p.g) * 0x101, uint32(p.b) * 0x101, 0xffff
}
