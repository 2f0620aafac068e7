package nodes

import (
	"fmt"
	"math"
	"strings"

	"github.com/comfygate/comfygate/comfy/comfysim/internal/imaging"
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
	w, err := c.Int("width")
	if err != nil {
		return Result{}, err
	}
	h, err := c.Int("height")
	if err != nil {
		return Result{}, err
	}
	n, err := c.IntOr("batch_size", 1)
	if err != nil {
		return Result{}, err
	}
	color, err := c.IntOr("color", 0)
	if err != nil {
		return Result{}, err
	}
	b, err := imaging.Solid(c.Limits(), int(n), int(h), int(w), color)
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
	return out(imaging.Invert(img))
}

func imageScale(c *Call) (Result, error) {
	img, err := c.Image("image")
	if err != nil {
		return Result{}, err
	}
	method, err := c.Str("upscale_method")
	if err != nil {
		return Result{}, err
	}
	w, err := c.Int("width")
	if err != nil {
		return Result{}, err
	}
	h, err := c.Int("height")
	if err != nil {
		return Result{}, err
	}
	crop, err := c.StrOr("crop", "disabled")
	if err != nil {
		return Result{}, err
	}
	if w == 0 && h == 0 {
		return out(img)
	}
	if w == 0 {
		w = max(1, int64(math.RoundToEven(float64(img.W)*float64(h)/float64(img.H))))
	} else if h == 0 {
		h = max(1, int64(math.RoundToEven(float64(img.H)*float64(w)/float64(img.W))))
	}
	s, err := imaging.Resize(c.Limits(), img, int(w), int(h), method, crop == "center")
	if err != nil {
		return Result{}, tooLarge(err)
	}
	return out(s)
}

func imageScaleBy(c *Call) (Result, error) {
	img, err := c.Image("image")
	if err != nil {
		return Result{}, err
	}
	method, err := c.Str("upscale_method")
	if err != nil {
		return Result{}, err
	}
	by, err := c.Float("scale_by")
	if err != nil {
		return Result{}, err
	}
	w := int(math.RoundToEven(float64(img.W) * by))
	h := int(math.RoundToEven(float64(img.H) * by))
	s, err := imaging.Resize(c.Limits(), img, w, h, method, false)
	if err != nil {
		return Result{}, tooLarge(err)
	}
	return out(s)
}

func imageBlur(c *Call) (Result, error) {
	img, err := c.Image("image")
	if err != nil {
		return Result{}, err
	}
	r, err := c.Int("blur_radius")
	if err != nil {
		return Result{}, err
	}
	sigma, err := c.Float("sigma")
	if err != nil {
		return Result{}, err
	}
	b, err := imaging.Blur(img, int(r), sigma)
	if err != nil {
		return Result{}, Raise("RuntimeError", "%v", err)
	}
	return out(b)
}

func imageSharpen(c *Call) (Result, error) {
	img, err := c.Image("image")
	if err != nil {
		return Result{}, err
	}
	r, err := c.Int("sharpen_radius")
	if err != nil {
		return Result{}, err
	}
	sigma, err := c.Float("sigma")
	if err != nil {
		return Result{}, err
	}
	alpha, err := c.Float("alpha")
	if err != nil {
		return Result{}, err
	}
	b, err := imaging.Sharpen(img, int(r), sigma, alpha)
	if err != nil {
		return Result{}, Raise("RuntimeError", "%v", err)
	}
	return out(b)
}

func imageFlip(c *Call) (Result, error) {
	img, err := c.Image("image")
	if err != nil {
		return Result{}, err
	}
	m, err := c.Str("flip_method")
	if err != nil {
		return Result{}, err
	}
	switch {
	case strings.HasPrefix(m, "x"):
		return out(imaging.Flip(img, true))
	case strings.HasPrefix(m, "y"):
		return out(imaging.Flip(img, false))
	}
	return out(img)
}

func imageRotate(c *Call) (Result, error) {
	img, err := c.Image("image")
	if err != nil {
		return Result{}, err
	}
	r, err := c.Str("rotation")
	if err != nil {
		return Result{}, err
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
	return out(imaging.Rotate(img, k))
}

func imageCrop(c *Call) (Result, error) {
	img, err := c.Image("image")
	if err != nil {
		return Result{}, err
	}
	var v [4]int64
	for i, name := range []string{"width", "height", "x", "y"} {
		if v[i], err = c.Int(name); err != nil {
			return Result{}, err
		}
	}
	return out(imaging.Crop(img, int(v[0]), int(v[1]), int(v[2]), int(v[3])))
}

func repeatImageBatch(c *Call) (Result, error) {
	img, err := c.Image("image")
	if err != nil {
		return Result{}, err
	}
	n, err := c.Int("amount")
	if err != nil {
		return Result{}, err
	}
	parts := make([]*imaging.Batch, max(n, 1))
	for i := range parts {
		parts[i] = img
	}
	b, err := imaging.Concat(c.Limits(), parts...)
	if err != nil {
		return Result{}, tooLarge(err)
	}
	return out(b)
}

func imageBatch(c *Call) (Result, error) {
	a, err := c.Image("image1")
	if err != nil {
		return Result{}, err
	}
	b, err := c.Image("image2")
	if err != nil {
		return Result{}, err
	}
	if b.H != a.H || b.W != a.W {
		if b, err = imaging.Resize(c.Limits(), b, a.W, a.H, "bilinear", true); err != nil {
			return Result{}, tooLarge(err)
		}
	}
	s, err := imaging.Concat(c.Limits(), a, b)
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
