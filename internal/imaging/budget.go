package imaging

import (
	"context"
	"fmt"
	"image"
	"image/color"

	"golang.org/x/sync/semaphore"
)

// Budget bounds the memory that request-driven image work (decoding and
// re-encoding for /view previews and channels, merging /upload/mask) holds
// at once. Each piece of work reserves its estimated need before it
// allocates; work that would need more than the whole budget is refused,
// other work waits its turn. A file that declares a huge canvas is thus
// refused from its header, before a single pixel is allocated.
type Budget struct {
	sem   *semaphore.Weighted
	limit int64
}

// NewBudget returns a budget of limit bytes.
func NewBudget(limit int64) *Budget {
	return &Budget{sem: semaphore.NewWeighted(limit), limit: limit}
}

// Reserve takes n bytes, waiting while other work holds them, until ctx
// ends (its error is returned). More than the whole budget is an error
// wrapping ErrTooLarge at once.
func (b *Budget) Reserve(ctx context.Context, n int64) (*Reservation, error) {
	n = max(n, 1)
	if n > b.limit {
		return nil, fmt.Errorf("%w: image work needs %d bytes, the budget is %d", ErrTooLarge, n, b.limit)
	}
	if err := b.sem.Acquire(ctx, n); err != nil {
		return nil, err
	}
	return &Reservation{b: b, n: n}, nil
}

// Reservation is bytes held from a Budget. Its methods are not safe for
// concurrent use.
type Reservation struct {
	b *Budget
	n int64
}

// Keep gives back all but keep bytes (say, once only the encoded answer
// is left to write).
func (r *Reservation) Keep(keep int64) {
	if keep = max(keep, 0); keep < r.n {
		r.b.sem.Release(r.n - keep)
		r.n = keep
	}
}

// Release gives back everything held.
func (r *Reservation) Release() { r.Keep(0) }

// Per-pixel bytes of the work around a decode, on top of the decoded
// image; generous, as the budget is an upper bound.
const (
	// WebPWork is EncodeWebP's output: at most four 15-bit codes a pixel.
	WebPWork = 8
	// EncodeWork is a PIL-style convert("RGB") copy plus a PNG or JPEG
	// answer in a growing buffer.
	EncodeWork = 4 + 16
)

// DecodeCost is the memory Go's decoder allocates for an image with this
// header: pixels × bytes per pixel (a progressive JPEG keeps every
// coefficient; a lossless WebP an ARGB word a pixel besides the image).
func DecodeCost(cfg image.Config, format string) int64 {
	return int64(cfg.Width) * int64(cfg.Height) * decodedBytesPerPixel(cfg.ColorModel, format)
}

// Pixels is width × height of a header.
func Pixels(cfg image.Config) int64 { return int64(cfg.Width) * int64(cfg.Height) }

func decodedBytesPerPixel(m color.Model, format string) int64 {
	switch format {
	case "jpeg":
		return 20
	case "webp":
		return 12
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	switch m {
	case color.GrayModel, color.AlphaModel:
		return 1
	case color.Gray16Model, color.Alpha16Model:
		return 2
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	}
	return 4
}
