// Package tensor holds the simulator's small in-memory image tensors and the
// cheap, deterministic image operations its model-free nodes perform.
//
// ComfyUI passes images between nodes as float tensors shaped
// [batch, height, width, channels] with values in 0..1, and masks as
// [batch, height, width]. Batch and Mask mirror that layout so that node
// semantics (batch sizes, crop bounds, rotation direction) carry over
// directly. Every constructor checks Limits, because sizes come from
// untrusted prompts and uploads.
package tensor

import (
	"errors"
	"fmt"

	"github.com/comfygate/comfygate/internal/imaging"
)

// Limits bound image sizes. The zero value means the defaults below.
type Limits struct {
	// MaxSide is the largest width or height. Default 16384 (ComfyUI's
	// MAX_RESOLUTION).
	MaxSide int
	// MaxPixels bounds batch × width × height of one tensor. Default 1<<25
	// (32 Mpx, about 400 MB as float32 RGB).
	MaxPixels int64
}

func (l Limits) withDefaults() Limits {
	if l.MaxSide <= 0 {
		l.MaxSide = 16384
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = 1 << 25
	}
	return l
}

// ErrTooLarge is returned when an image would exceed Limits: the same
// error as the image codecs' own limits.
var ErrTooLarge = imaging.ErrTooLarge

// Check reports an error wrapping ErrTooLarge when an n×h×w tensor is out of
// bounds, and a plain error for non-positive sizes.
func (l Limits) Check(n, h, w int) error {
	l = l.withDefaults()
	if n <= 0 || h <= 0 || w <= 0 {
		return fmt.Errorf("invalid image size %dx%dx%d", n, w, h)
	}
	if w > l.MaxSide || h > l.MaxSide {
		return fmt.Errorf("%w: %dx%d exceeds %d pixels per side", ErrTooLarge, w, h, l.MaxSide)
	}
	if int64(n)*int64(h)*int64(w) > l.MaxPixels {
		return fmt.Errorf("%w: %d×%dx%d exceeds %d pixels", ErrTooLarge, n, w, h, l.MaxPixels)
	}
	return nil
}

// Batch is ComfyUI's IMAGE: N images of H×W pixels with C channels (3 or 4),
// float32 in 0..1, laid out [n][y][x][c].
type Batch struct {
	N, H, W, C int
	Pix        []float32
}

// NewBatch allocates a zeroed batch after checking lim.
func NewBatch(lim Limits, n, h, w, c int) (*Batch, error) {
	if err := lim.Check(n, h, w); err != nil {
		return nil, err
	}
	return &Batch{N: n, H: h, W: w, C: c, Pix: make([]float32, n*h*w*c)}, nil
}

// Index is the offset of pixel (x, y) of image i.
func (b *Batch) Index(i, y, x int) int { return ((i*b.H+y)*b.W + x) * b.C }

// Image returns a batch holding only image i (sharing no memory).
func (b *Batch) Image(i int) *Batch {
	n := b.H * b.W * b.C
	out := &Batch{N: 1, H: b.H, W: b.W, C: b.C, Pix: make([]float32, n)}
	copy(out.Pix, b.Pix[i*n:(i+1)*n])
	return out
}

// String describes the tensor the way error messages show inputs.
func (b *Batch) String() string {
	return fmt.Sprintf("tensor(shape=[%d, %d, %d, %d], dtype=torch.float32)", b.N, b.H, b.W, b.C)
}

// Mask is ComfyUI's MASK: N masks of H×W floats in 0..1.
type Mask struct {
	N, H, W int
	Pix     []float32
}

// String describes the tensor.
func (m *Mask) String() string {
	return fmt.Sprintf("tensor(shape=[%d, %d, %d], dtype=torch.float32)", m.N, m.H, m.W)
}

// Solid returns n images filled with the 0xRRGGBB color, as EmptyImage does.
func Solid(lim Limits, n, h, w int, color int64) (*Batch, error) {
	b, err := NewBatch(lim, n, h, w, 3)
	if err != nil {
		return nil, err
	}
	r := float32((color>>16)&0xFF) / 255
	g := float32((color>>8)&0xFF) / 255
	bl := float32(color&0xFF) / 255
	for i := 0; i < len(b.Pix); i += 3 {
		b.Pix[i], b.Pix[i+1], b.Pix[i+2] = r, g, bl
	}
	return b, nil
}

// Invert returns 1 - b.
func Invert(b *Batch) *Batch {
	out := &Batch{N: b.N, H: b.H, W: b.W, C: b.C, Pix: make([]float32, len(b.Pix))}
	for i, v := range b.Pix {
		out.Pix[i] = 1 - v
	}
	return out
}

// Flip mirrors every image: vertical flips rows (ComfyUI "x-axis:
// vertically"), otherwise columns ("y-axis: horizontally").
func Flip(b *Batch, vertical bool) *Batch {
	out := &Batch{N: b.N, H: b.H, W: b.W, C: b.C, Pix: make([]float32, len(b.Pix))}
	for i := 0; i < b.N; i++ {
		for y := 0; y < b.H; y++ {
			for x := 0; x < b.W; x++ {
				sy, sx := y, b.W-1-x
				if vertical {
					sy, sx = b.H-1-y, x
				}
				copy(out.Pix[out.Index(i, y, x):out.Index(i, y, x)+b.C], b.Pix[b.Index(i, sy, sx):b.Index(i, sy, sx)+b.C])
			}
		}
	}
	return out
}

// Rotate turns every image clockwise by k quarter turns, which is what
// ComfyUI's torch.rot90(image, k, dims=[2, 1]) does.
func Rotate(b *Batch, k int) *Batch {
	k = ((k % 4) + 4) % 4
	h, w := b.H, b.W
	if k%2 == 1 {
		h, w = b.W, b.H
	}
	out := &Batch{N: b.N, H: h, W: w, C: b.C, Pix: make([]float32, len(b.Pix))}
	for i := 0; i < b.N; i++ {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				sy, sx := rotSource(k, y, x, b.H, b.W)
				copy(out.Pix[out.Index(i, y, x):out.Index(i, y, x)+b.C], b.Pix[b.Index(i, sy, sx):b.Index(i, sy, sx)+b.C])
			}
		}
	}
	return out
}

// rotSource maps an output pixel of a k-quarter-turn clockwise rotation back to
// the source image of size h×w.
func rotSource(k, y, x, h, w int) (int, int) {
	switch k {
	case 1:
		return h - 1 - x, y
	case 2:
		return h - 1 - y, w - 1 - x
	case 3:
		return x, w - 1 - y
	}
	return y, x
}

// Crop cuts a width×height window at (x, y) with ComfyUI's clamping: the
// origin is clamped into the image and the window to its edges.
func Crop(b *Batch, width, height, x, y int) *Batch {
	x = min(x, b.W-1)
	y = min(y, b.H-1)
	w := min(width, b.W-x)
	h := min(height, b.H-y)
	out := &Batch{N: b.N, H: h, W: w, C: b.C, Pix: make([]float32, b.N*h*w*b.C)}
	for i := 0; i < b.N; i++ {
		for row := 0; row < h; row++ {
			src := b.Index(i, y+row, x)
			copy(out.Pix[out.Index(i, row, 0):out.Index(i, row, 0)+w*b.C], b.Pix[src:src+w*b.C])
		}
	}
	return out
}

// Concat joins batches of the same size along the batch dimension.
func Concat(lim Limits, parts ...*Batch) (*Batch, error) {
	if len(parts) == 0 {
		return nil, errors.New("nothing to concatenate")
	}
	n := 0
	for _, p := range parts {
		if p.H != parts[0].H || p.W != parts[0].W || p.C != parts[0].C {
			return nil, fmt.Errorf("cannot batch %dx%d with %dx%d images", p.W, p.H, parts[0].W, parts[0].H)
		}
		n += p.N
	}
	out, err := NewBatch(lim, n, parts[0].H, parts[0].W, parts[0].C)
	if err != nil {
		return nil, err
	}
	off := 0
	for _, p := range parts {
		off += copy(out.Pix[off:], p.Pix)
	}
	return out, nil
}
