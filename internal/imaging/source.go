package imaging

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
)

// Source is an image read as rows of 8-bit, non-premultiplied RGBA (4
// bytes a pixel), top to bottom. Each call of Rows starts another pass.
type Source interface {
	// Size is the width and height in pixels.
	Size() (w, h int)
	// Alpha reports whether the image has an alpha band as PIL opens it
	// (mode "RGBA"), which /view's channel=a keeps and encoders write.
	Alpha() bool
	// Rows starts a pass over the rows.
	Rows() (Rows, error)
}

// Rows is one pass over a Source's rows.
type Rows interface {
	// Next returns the next row: 4 × width bytes, valid until the next
	// call. After the last row it returns io.EOF, or the error that the
	// rest of the image holds (a bad checksum, trailing garbage).
	Next() ([]byte, error)
	// Close ends the pass early or after its end.
	Close() error
}

// errShortImage and errLongImage report a source whose rows do not match
// its header.
var (
	errShortImage = errors.New("image data ends early")
	errLongImage  = errors.New("image has more rows than its header says")
)

// eachRow makes one whole pass over src, calling fn for every row, and
// checks that the image ends where it should.
func eachRow(src Source, fn func(y int, row []byte) error) error {
	rows, err := src.Rows()
	if err != nil {
		return err
	}
	defer rows.Close()
	_, h := src.Size()
	for y := range h {
		row, err := rows.Next()
		if errors.Is(err, io.EOF) {
			return errShortImage
		}
		if err != nil {
			return err
		}
		if err := fn(y, row); err != nil {
			return err
		}
	}
	if _, err := rows.Next(); !errors.Is(err, io.EOF) {
		if err == nil {
			err = errLongImage
		}
		return err
	}
	return nil
}

// Verify reads src to its end: a one-pass encoder that writes as it goes
// can then start its answer knowing the image is whole.
func Verify(src Source) error {
	return eachRow(src, func(int, []byte) error { return nil })
}

// FromImage is an image held in memory as a Source.
func FromImage(img image.Image) Source { return memSource{img} }

type memSource struct{ img image.Image }

func (s memSource) Size() (int, int) {
	b := s.img.Bounds()
	return b.Dx(), b.Dy()
}

// Alpha: Go's decoders return NRGBA (or NRGBA64, NYCbCrA) for the images
// PIL opens as "RGBA"; paletted images are PIL's mode "P", without an
// alpha band even when an entry is transparent.
func (s memSource) Alpha() bool {
	switch s.img.ColorModel() {
	case color.NRGBAModel, color.NRGBA64Model, color.NYCbCrAModel, color.AlphaModel, color.Alpha16Model:
		return true
	}
	return false
}

func (s memSource) Rows() (Rows, error) {
	w, _ := s.Size()
	return &memRows{img: s.img, buf: make([]byte, 4*w)}, nil
}

type memRows struct {
	img image.Image
	buf []byte
	y   int
}

func (r *memRows) Close() error { return nil }

func (r *memRows) Next() ([]byte, error) {
	b := r.img.Bounds()
	if r.y >= b.Dy() {
		return nil, io.EOF
	}
	y := b.Min.Y + r.y
	r.y++
	p := r.buf
	switch src := r.img.(type) {
	case *image.NRGBA:
		copy(p, src.Pix[src.PixOffset(b.Min.X, y):])
	case *image.RGBA:
		s := src.Pix[src.PixOffset(b.Min.X, y):]
		for i := 0; i < len(p); i += 4 {
			c := color.RGBA{s[i], s[i+1], s[i+2], s[i+3]}
			if c.A != 0xff { // premultiplied: undo it as color.NRGBAModel does
				n := color.NRGBAModel.Convert(c).(color.NRGBA)
				c = color.RGBA(n)
			}
			p[i], p[i+1], p[i+2], p[i+3] = c.R, c.G, c.B, c.A
		}
	case *image.Gray:
		s := src.Pix[src.PixOffset(b.Min.X, y):]
		for x := range len(p) / 4 {
			p[4*x], p[4*x+1], p[4*x+2], p[4*x+3] = s[x], s[x], s[x], 0xff
		}
	default:
		for x := range len(p) / 4 {
			c := color.NRGBAModel.Convert(src.At(b.Min.X+x, y)).(color.NRGBA)
			p[4*x], p[4*x+1], p[4*x+2], p[4*x+3] = c.R, c.G, c.B, c.A
		}
	}
	return p, nil
}

// Opaque is src without alpha, every pixel fully opaque: PIL's
// convert("RGB").
func Opaque(src Source) Source { return opaque{src} }

type opaque struct{ Source }

func (opaque) Alpha() bool { return false }

func (o opaque) Rows() (Rows, error) {
	rows, err := o.Source.Rows()
	if err != nil {
		return nil, err
	}
	return mapRows{rows, func(p []byte) {
		for i := 3; i < len(p); i += 4 {
			p[i] = 0xff
		}
	}}, nil
}

// AlphaOnly is /view's channel=a: transparent black pixels carrying src's
// alpha, or fully opaque ones when src has no alpha band.
func AlphaOnly(src Source) Source { return alphaOnly{src} }

type alphaOnly struct{ Source }

func (alphaOnly) Alpha() bool { return true }

func (a alphaOnly) Rows() (Rows, error) {
	rows, err := a.Source.Rows()
	if err != nil {
		return nil, err
	}
	keep := a.Source.Alpha()
	return mapRows{rows, func(p []byte) {
		for i := 0; i < len(p); i += 4 {
			p[i], p[i+1], p[i+2] = 0, 0, 0
			if !keep {
				p[i+3] = 0xff
			}
		}
	}}, nil
}

// mapRows changes each row of a pass in place.
type mapRows struct {
	Rows
	fn func([]byte)
}

func (m mapRows) Next() ([]byte, error) {
	p, err := m.Rows.Next()
	if err == nil {
		m.fn(p)
	}
	return p, err
}

// WithAlpha is /upload/mask's merge: src's colours with mask's alpha,
// the mask scaled to src's size by nearest neighbour when they differ.
// The mask is read forward only, one pass per pass over the result.
func WithAlpha(src, mask Source) Source { return withAlpha{src, mask} }

type withAlpha struct{ src, mask Source }

func (m withAlpha) Size() (int, int) { return m.src.Size() }
func (withAlpha) Alpha() bool        { return true }

func (m withAlpha) Rows() (Rows, error) {
	rows, err := m.src.Rows()
	if err != nil {
		return nil, err
	}
	masks, err := m.mask.Rows()
	if err != nil {
		rows.Close()
		return nil, err
	}
	w, h := m.src.Size()
	mw, mh := m.mask.Size()
	return &mergedRows{rows: rows, masks: masks, w: w, h: h, mw: mw, mh: mh, my: -1}, nil
}

type mergedRows struct {
	rows, masks  Rows
	w, h, mw, mh int
	y            int
	my           int    // the mask row held in mrow
	mrow         []byte // mask row my
}

func (m *mergedRows) Next() ([]byte, error) {
	p, err := m.rows.Next()
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = m.drainMask()
		}
		return nil, err
	}
	want := m.y * m.mh / m.h
	m.y++
	for m.my < want {
		if m.mrow, err = m.masks.Next(); err != nil {
			if errors.Is(err, io.EOF) {
				err = fmt.Errorf("mask: %w", errShortImage)
			}
			return nil, err
		}
		m.my++
	}
	for x := range m.w {
		p[4*x+3] = m.mrow[4*(x*m.mw/m.w)+3]
	}
	return p, nil
}

// drainMask reads the mask's rows that scaling skipped, so that its end
// is checked like the image's, and reports io.EOF when all is well.
func (m *mergedRows) drainMask() error {
	for ; m.my < m.mh-1; m.my++ {
		if _, err := m.masks.Next(); err != nil {
			if errors.Is(err, io.EOF) {
				err = errShortImage
			}
			return fmt.Errorf("mask: %w", err)
		}
	}
	if _, err := m.masks.Next(); !errors.Is(err, io.EOF) {
		if err == nil {
			err = errLongImage
		}
		return fmt.Errorf("mask: %w", err)
	}
	return io.EOF
}

func (m *mergedRows) Close() error {
	return errors.Join(m.rows.Close(), m.masks.Close())
}
