package nodes

import (
	"fmt"
	"math"
	"strings"

	"github.com/comfygate/comfygate/comfy/comfysim/internal/tensor"
)

// imageNodes are ComfyUI's model-free image nodes, done for real.
func imageNodes() map[string]Def {
	return map[string]Def{
		"EmptyImage":       stateless(emptyImage),
		"ImageInvert":      stateless(imageInvert),
		"ImageScale":       stateless(imageScale),
		"ImageScaleBy":     stateless(imageScaleBy),
		"ImageBlur":        stateless(imageBlur),
		"ImageSharpen":     stateless(imageSharpen),
		"ImageFlip":        stateless(imageFlip),
		"ImageRotate":      stateless(imageRotate),
		"ImageCrop":        stateless(imageCrop),
		"RepeatImageBatch": stateless(repeatImageBatch),
		"ImageBatch":       stateless(imageBatch),
		"GetImageSize":     stateless(getImageSize),
	}
}

func emptyImage(c *Call) (Result, error) {
	a := c.args()
	w := a.Int("width")
	h := a.Int("height")
	n := a.IntOr("batch_size", 1)
	color := a.IntOr("color", 0)
	if a.err != nil {
		return Result{}, a.err
	}
	b, err := tensor.Solid(c.Limits(), int(n), int(h), int(w), color)
	if err != nil {
		return Result{}, tooLarge(err)
	}
	return out(b)
}

// tooLarge turns a size error into what torch would raise when asked for an
// absurd allocation.
func tooLarge(err error) error {
	return Raise("RuntimeError", "%v", err)
}

func imageInvert(c *Call) (Result, error) {
	img, err := c.Image("image")
	if err != nil {
		return Result{}, err
	}
	return out(tensor.Invert(img))
}

func imageScale(c *Call) (Result, error) {
	a := c.args()
	img := a.Image("image")
	method := a.Str("upscale_method")
	w := a.Int("width")
	h := a.Int("height")
	crop := a.StrOr("crop", "disabled")
	if a.err != nil {
		return Result{}, a.err
	}
	if w == 0 && h == 0 {
		return out(img)
	}
	if w == 0 {
		w = max(1, int64(math.RoundToEven(float64(img.W)*float64(h)/float64(img.H))))
	} else if h == 0 {
		h = max(1, int64(math.RoundToEven(float64(img.H)*float64(w)/float64(img.W))))
	}
	s, err := tensor.Resize(c.Limits(), img, int(w), int(h), method, crop == "center")
	if err != nil {
		return Result{}, tooLarge(err)
	}
	return out(s)
}

func imageScaleBy(c *Call) (Result, error) {
	a := c.args()
	img := a.Image("image")
	method := a.Str("upscale_method")
	by := a.Float("scale_by")
	if a.err != nil {
		return Result{}, a.err
	}
	w := int(math.RoundToEven(float64(img.W) * by))
	h := int(math.RoundToEven(float64(img.H) * by))
	s, err := tensor.Resize(c.Limits(), img, w, h, method, false)
	if err != nil {
		return Result{}, tooLarge(err)
	}
	return out(s)
}

func imageBlur(c *Call) (Result, error) {
	a := c.args()
	img := a.Image("image")
	r := a.Int("blur_radius")
	sigma := a.Float("sigma")
	if a.err != nil {
		return Result{}, a.err
	}
	b, err := tensor.Blur(img, int(r), sigma)
	if err != nil {
		return Result{}, Raise("RuntimeError", "%v", err)
	}
	return out(b)
}

func imageSharpen(c *Call) (Result, error) {
	a := c.args()
	img := a.Image("image")
	r := a.Int("sharpen_radius")
	sigma := a.Float("sigma")
	alpha := a.Float("alpha")
	if a.err != nil {
		return Result{}, a.err
	}
	b, err := tensor.Sharpen(img, int(r), sigma, alpha)
	if err != nil {
		return Result{}, Raise("RuntimeError", "%v", err)
	}
	return out(b)
}

func imageFlip(c *Call) (Result, error) {
	a := c.args()
	img := a.Image("image")
	m := a.Str("flip_method")
	if a.err != nil {
		return Result{}, a.err
	}
	switch {
	case strings.HasPrefix(m, "x"):
		return out(tensor.Flip(img, true))
	case strings.HasPrefix(m, "y"):
		return out(tensor.Flip(img, false))
	}
	return out(img)
}

func imageRotate(c *Call) (Result, error) {
	a := c.args()
	img := a.Image("image")
	r := a.Str("rotation")
	if a.err != nil {
		return Result{}, a.err
	}
	k := 0
	switch {
	case strings.HasPrefix(r, "90"):
		k = 1
	case strings.HasPrefix(r, "180"):
		k = 2
	case strings.HasPrefix(r, "270"):
		k = 3
	}
	return out(tensor.Rotate(img, k))
}

func imageCrop(c *Call) (Result, error) {
	a := c.args()
	img := a.Image("image")
	w := a.Int("width")
	h := a.Int("height")
	x := a.Int("x")
	y := a.Int("y")
	if a.err != nil {
		return Result{}, a.err
	}
	return out(tensor.Crop(img, int(w), int(h), int(x), int(y)))
}

func repeatImageBatch(c *Call) (Result, error) {
	a := c.args()
	img := a.Image("image")
	n := a.Int("amount")
	if a.err != nil {
		return Result{}, a.err
	}
	parts := make([]*tensor.Batch, max(n, 1))
	for i := range parts {
		parts[i] = img
	}
	b, err := tensor.Concat(c.Limits(), parts...)
	if err != nil {
		return Result{}, tooLarge(err)
	}
	return out(b)
}

func imageBatch(c *Call) (Result, error) {
	in := c.args()
	a := in.Image("image1")
	b := in.Image("image2")
	if in.err != nil {
		return Result{}, in.err
	}
	if b.H != a.H || b.W != a.W {
		var err error
		if b, err = tensor.Resize(c.Limits(), b, a.W, a.H, "bilinear", true); err != nil {
			return Result{}, tooLarge(err)
		}
	}
	s, err := tensor.Concat(c.Limits(), a, b)
	if err != nil {
		return Result{}, Raise("RuntimeError", "%v", err)
	}
	return out(s)
}

func getImageSize(c *Call) (Result, error) {
	img, err := c.Image("image")
	if err != nil {
		return Result{}, err
	}
	c.ProgressText(fmt.Sprintf("width: %d, height: %d\n batch size: %d", img.W, img.H, img.N))
	return out(intNumber(int64(img.W)), intNumber(int64(img.H)), intNumber(int64(img.N)))
}
