package tensor

import (
	"fmt"
	"math"
)

// Resize scales every image to w×h. method is ComfyUI's upscale_method:
// "nearest-exact" and "area" are honoured, every other method ("bilinear",
// "bicubic", "lanczos", "bislerp") is done bilinearly, which is close enough
// for a simulator. cropCenter trims the source to the target aspect first
// (crop "center").
func Resize(lim Limits, b *Batch, w, h int, method string, cropCenter bool) (*Batch, error) {
	if err := lim.Check(b.N, h, w); err != nil {
		return nil, err
	}
	src := b
	if cropCenter {
		src = centerCrop(b, w, h)
	}
	out := &Batch{N: b.N, H: h, W: w, C: b.C, Pix: make([]float32, b.N*h*w*b.C)}
	switch method {
	case "nearest-exact":
		resizeNearest(src, out)
	case "area":
		if w <= src.W && h <= src.H {
			resizeArea(src, out)
		} else {
			resizeNearest(src, out)
		}
	default:
		resizeBilinear(src, out)
	}
	return out, nil
}

// centerCrop is the crop step of comfy.utils.common_upscale.
func centerCrop(b *Batch, w, h int) *Batch {
	oldAspect := float64(b.W) / float64(b.H)
	newAspect := float64(w) / float64(h)
	x, y := 0, 0
	switch {
	case oldAspect > newAspect:
		x = int(math.RoundToEven((float64(b.W) - float64(b.W)*(newAspect/oldAspect)) / 2))
	case oldAspect < newAspect:
		y = int(math.RoundToEven((float64(b.H) - float64(b.H)*(oldAspect/newAspect)) / 2))
	}
	if b.W-2*x <= 0 || b.H-2*y <= 0 {
		return b
	}
	return Crop(b, b.W-2*x, b.H-2*y, x, y)
}

func resizeNearest(src, out *Batch) {
	sx := float64(src.W) / float64(out.W)
	sy := float64(src.H) / float64(out.H)
	for i := 0; i < out.N; i++ {
		for y := 0; y < out.H; y++ {
			yy := min(int((float64(y)+0.5)*sy), src.H-1)
			for x := 0; x < out.W; x++ {
				xx := min(int((float64(x)+0.5)*sx), src.W-1)
				s := src.Index(i, yy, xx)
				copy(out.Pix[out.Index(i, y, x):out.Index(i, y, x)+out.C], src.Pix[s:s+src.C])
			}
		}
	}
}

func resizeBilinear(src, out *Batch) {
	sx := float64(src.W) / float64(out.W)
	sy := float64(src.H) / float64(out.H)
	for i := 0; i < out.N; i++ {
		for y := 0; y < out.H; y++ {
			y0, y1, fy := sample(y, sy, src.H)
			for x := 0; x < out.W; x++ {
				x0, x1, fx := sample(x, sx, src.W)
				o := out.Index(i, y, x)
				for c := 0; c < out.C; c++ {
					a := src.Pix[src.Index(i, y0, x0)+c]*(1-fx) + src.Pix[src.Index(i, y0, x1)+c]*fx
					b := src.Pix[src.Index(i, y1, x0)+c]*(1-fx) + src.Pix[src.Index(i, y1, x1)+c]*fx
					out.Pix[o+c] = a*(1-fy) + b*fy
				}
			}
		}
	}
}

// sample returns the two source indices and the weight of the second for
// output index o (align_corners=False, like torch).
func sample(o int, scale float64, n int) (int, int, float32) {
	p := (float64(o)+0.5)*scale - 0.5
	if p < 0 {
		p = 0
	}
	i0 := int(p)
	if i0 >= n-1 {
		return n - 1, n - 1, 0
	}
	return i0, i0 + 1, float32(p - float64(i0))
}

func resizeArea(src, out *Batch) {
	for i := 0; i < out.N; i++ {
		for y := 0; y < out.H; y++ {
			ys, ye := y*src.H/out.H, max((y+1)*src.H/out.H, y*src.H/out.H+1)
			for x := 0; x < out.W; x++ {
				xs, xe := x*src.W/out.W, max((x+1)*src.W/out.W, x*src.W/out.W+1)
				o := out.Index(i, y, x)
				n := float32((ye - ys) * (xe - xs))
				for yy := ys; yy < ye; yy++ {
					for xx := xs; xx < xe; xx++ {
						s := src.Index(i, yy, xx)
						for c := 0; c < out.C; c++ {
							out.Pix[o+c] += src.Pix[s+c]
						}
					}
				}
				for c := 0; c < out.C; c++ {
					out.Pix[o+c] /= n
				}
			}
		}
	}
}

// gaussian1D is one axis of comfy_extras' gaussian_kernel: samples of
// exp(-x²/2σ²) at linspace(-1, 1, size), normalised. The 2-D kernel ComfyUI
// builds is the outer product of two of these.
func gaussian1D(size int, sigma float64) []float32 {
	k := make([]float64, size)
	sum := 0.0
	for i := range k {
		x := -1.0
		if size > 1 {
			x = -1 + 2*float64(i)/float64(size-1)
		}
		k[i] = math.Exp(-(x * x) / (2 * sigma * sigma))
		sum += k[i]
	}
	out := make([]float32, size)
	for i := range k {
		out[i] = float32(k[i] / sum)
	}
	return out
}

// ErrPadding reproduces torch's refusal to reflect-pad by as much as the
// image size.
func checkReflect(b *Batch, radius int) error {
	if radius >= b.H || radius >= b.W {
		//lint:ignore ST1005 torch's own message, which ComfyUI shows as is
		return fmt.Errorf("Argument #4: Padding size should be less than the corresponding input dimension, but got: padding (%d, %d) at dimension 3 of input [%d, %d, %d, %d]",
			radius, radius, b.N, b.C, b.H, b.W)
	}
	return nil
}

// Blur is ImageBlur: a Gaussian of size 2·radius+1 over reflect-padded
// images.
func Blur(b *Batch, radius int, sigma float64) (*Batch, error) {
	if radius == 0 {
		return b, nil
	}
	if err := checkReflect(b, radius); err != nil {
		return nil, err
	}
	return convolveSeparable(b, gaussian1D(2*radius+1, sigma)), nil
}

// Sharpen is ImageSharpen: (1+10α)·x − 10α·blur(x), clamped to 0..1. That is
// the same as ComfyUI's single kernel, because its Gaussian sums to one.
func Sharpen(b *Batch, radius int, sigma, alpha float64) (*Batch, error) {
	if radius == 0 {
		return b, nil
	}
	if err := checkReflect(b, radius); err != nil {
		return nil, err
	}
	blurred := convolveSeparable(b, gaussian1D(2*radius+1, sigma))
	a := float32(alpha * 10)
	for i, v := range b.Pix {
		s := (1+a)*v - a*blurred.Pix[i]
		blurred.Pix[i] = min(max(s, 0), 1)
	}
	return blurred, nil
}

func reflect(i, n int) int {
	if i < 0 {
		return -i
	}
	if i >= n {
		return 2*(n-1) - i
	}
	return i
}

func convolveSeparable(b *Batch, k []float32) *Batch {
	return convolve1D(convolve1D(b, k, 1, 0), k, 0, 1)
}

// convolve1D convolves every channel with k along x (dx=1) or along y
// (dy=1), reflecting at the edges.
func convolve1D(b *Batch, k []float32, dx, dy int) *Batch {
	r := len(k) / 2
	out := &Batch{N: b.N, H: b.H, W: b.W, C: b.C, Pix: make([]float32, len(b.Pix))}
	for i := 0; i < b.N; i++ {
		for y := 0; y < b.H; y++ {
			for x := 0; x < b.W; x++ {
				o := out.Index(i, y, x)
				for j, kv := range k {
					s := b.Index(i, reflect(y+(j-r)*dy, b.H), reflect(x+(j-r)*dx, b.W))
					for c := 0; c < b.C; c++ {
						out.Pix[o+c] += kv * b.Pix[s+c]
					}
				}
			}
		}
	}
	return out
}
