package nodes

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/comfygate/comfygate/comfy/comfysim/internal/tensor"
	"github.com/comfygate/comfygate/internal/imaging"
)

func ioNodes() map[string]Def {
	return map[string]Def{
		"LoadImage": {
			New:       func(*Call) Node { return NodeFunc(loadImage) },
			IsChanged: loadImageChanged,
		},
		"SaveImageWebsocket": {
			New: func(*Call) Node { return NodeFunc(saveImageWebsocket) },
			// IS_CHANGED returns time.time(): never served from cache.
			IsChanged: func(*Call) (string, bool) { return "", false },
		},
	}
}

// AnnotatedPath resolves a LoadImage value ("name", "sub/name",
// "name [output]") the way folder_paths.get_annotated_filepath does, against
// the directories of env.
func AnnotatedPath(dir func(kind string) string, name string) string {
	for _, kind := range []string{"output", "input", "temp"} {
		suffix := "[" + kind + "]"
		if strings.HasSuffix(name, suffix) {
			cut := max(len(name)-len(suffix)-1, 0)
			return PyJoin(dir(kind), name[:cut])
		}
	}
	return PyJoin(dir("input"), name)
}

func loadImageChanged(c *Call) (string, bool) {
	name, err := c.Str("image")
	if err != nil {
		return "", false
	}
	data, err := os.ReadFile(AnnotatedPath(c.Dir, name))
	if err != nil {
		return "", false
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), true
}

func loadImage(c *Call) (Result, error) {
	name, err := c.Str("image")
	if err != nil {
		return Result{}, err
	}
	path := AnnotatedPath(c.Dir, name)
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Result{}, Raise("FileNotFoundError", "[Errno 2] No such file or directory: '%s'", path)
		}
		return Result{}, Raise("OSError", "%v", err)
	}
	img, _, err := tensor.Decode(c.Limits(), data)
	switch {
	case errors.Is(err, imaging.ErrUnidentified):
		return Result{}, &Exception{
			Type:    "PIL.UnidentifiedImageError",
			Message: fmt.Sprintf("cannot identify image file '%s'", path),
			Frames: []string{
				Frame("<COMFYUI_DIR>/nodes.py", 1647, "load_image", "img = node_helpers.pillow(Image.open, image_path)", "node_helpers.pillow(Image.open, image_path)"),
				Frame("<COMFYUI_DIR>/node_helpers.py", 31, "pillow", "x = fn(arg)", "fn(arg)"),
				Frame("<PY_DIST_PACKAGES>/PIL/Image.py", 3283, "open", "raise UnidentifiedImageError(msg)", ""),
			},
		}
	case errors.Is(err, tensor.ErrTooLarge):
		return Result{}, Raise("PIL.Image.DecompressionBombError", "%v, could be decompression bomb DOS attack.", err)
	case err != nil:
		return Result{}, Raise("OSError", "%v", err)
	}
	batch, mask, err := tensor.FromImage(c.Limits(), img)
	if err != nil {
		return Result{}, Raise("PIL.Image.DecompressionBombError", "%v", err)
	}
	if mask == nil {
		mask = &tensor.Mask{N: 1, H: 64, W: 64, Pix: make([]float32, 64*64)}
	}
	return out(batch, mask)
}

// saveImageWebsocket sends each image as a full-size PNG preview through the
// progress hook (values 0..n-1 of n) and returns no UI output.
func saveImageWebsocket(c *Call) (Result, error) {
	images, err := c.Image("images")
	if err != nil {
		return Result{}, err
	}
	for i := 0; i < images.N; i++ {
		p := &Preview{Format: "PNG", Image: tensor.ToImage(images, i)}
		if err := c.Progress(i, images.N, p); err != nil {
			return Result{}, err
		}
	}
	return Result{Outputs: []any{}}, nil
}
