package imaging

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"image"
	"io"
)

// OpenOptions bound Open.
type OpenOptions struct {
	// MaxPixels bounds width × height: every pass visits every pixel, so
	// this bounds the work even where memory is not at stake. Required.
	MaxPixels int64
	// Budget pays for images that are decoded whole. nil: none may be.
	Budget *Budget
	// Text keeps a PNG's text chunks (Image.Text).
	Text bool
}

// Image is an image file made ready for request-driven work. Release it
// when the work is done.
type Image struct {
	Source
	// Format is the file's format: "png", "jpeg", "gif", "bmp", "webp".
	Format string
	res    *Reservation
	text   func() []TextChunk
}

// Release gives back what the image holds of its budget.
func (m *Image) Release() {
	if m.res != nil {
		m.res.Release()
	}
}

// Text is a PNG's text chunks in file order (with OpenOptions.Text): all
// of them once a pass over the rows has ended.
func (m *Image) Text() []TextChunk {
	if m.text == nil {
		return nil
	}
	return m.text()
}

// Open makes the image file r a Source. A PNG that is not interlaced
// streams from r, a few rows at a time; any other image is decoded whole
// once the memory its header announces is reserved from opts.Budget,
// waiting while other work holds it, until ctx ends. Data that is not an
// image is ErrUnidentified; an image beyond MaxPixels, or needing more
// than the whole budget, an error wrapping ErrTooLarge.
func Open(ctx context.Context, r io.ReadSeeker, opts OpenOptions) (*Image, error) {
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	cfg, format, err := Config(bufio.NewReader(r))
	if err != nil {
		return nil, err
	}
	if px := Pixels(cfg); cfg.Width <= 0 || cfg.Height <= 0 || px > opts.MaxPixels {
		return nil, fmt.Errorf("%w: %dx%d is beyond the %d pixel limit", ErrTooLarge, cfg.Width, cfg.Height, opts.MaxPixels)
	}
	if format == "png" {
		p, err := OpenPNG(r, PNGOptions{Text: opts.Text})
		if err == nil {
			return &Image{Source: p, Format: format, text: p.Text}, nil
		}
		if !errors.Is(err, ErrInterlaced) {
			return nil, err
		}
	}
	return decodeWhole(ctx, r, cfg, format, opts)
}

// decodeWhole decodes an image that cannot stream, within the budget.
func decodeWhole(ctx context.Context, r io.ReadSeeker, cfg image.Config, format string, opts OpenOptions) (*Image, error) {
	if opts.Budget == nil {
		return nil, fmt.Errorf("%w: a %s image is decoded whole, and there is no budget for it", ErrTooLarge, format)
	}
	res, err := opts.Budget.Reserve(ctx, DecodeCost(cfg, format)+4*int64(cfg.Width))
	if err != nil {
		return nil, err
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		res.Release()
		return nil, err
	}
	img, _, err := image.Decode(bufio.NewReader(r))
	if err != nil {
		res.Release()
		return nil, fmt.Errorf("decode %s: %w", format, err)
	}
	m := &Image{Source: FromImage(img), Format: format, res: res}
	if opts.Text && format == "png" {
		text, err := scanPNGText(r)
		if err != nil {
			res.Release()
			return nil, err
		}
		m.text = func() []TextChunk { return text }
	}
	return m, nil
}

// scanPNGText reads the text chunks of a PNG, skipping every other chunk.
func scanPNGText(r io.ReadSeeker) ([]TextChunk, error) {
	if _, err := r.Seek(int64(len(pngMagic)), io.SeekStart); err != nil {
		return nil, err
	}
	p := &PNG{keepText: true}
	cr := &chunkReader{r: bufio.NewReader(r), pos: int64(len(pngMagic))}
	for {
		length, typ, err := cr.header()
		if err != nil {
			return nil, err
		}
		switch typ {
		case "tEXt", "zTXt", "iTXt":
			err = p.textChunk(cr, typ, length)
		default:
			err = cr.skip(length)
		}
		if err != nil || typ == "IEND" {
			return p.text, err
		}
	}
}
