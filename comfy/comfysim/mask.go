package comfysim

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"

	"github.com/comfygate/comfygate/comfy/comfyjson"
	"github.com/comfygate/comfygate/comfy/comfysim/internal/nodes"
	"github.com/comfygate/comfygate/comfy/comfysim/internal/tensor"
	"github.com/comfygate/comfygate/internal/imaging"
)

// errMalformedRef makes the mask route answer a plain-text 500, as
// ComfyUI's json.loads / KeyError do.
var errMalformedRef = errors.New("malformed original_ref")

// saveMask is /upload/mask's save function: open the image named by
// original_ref, replace its alpha with the upload's, keep its PNG text and
// write the result to path. Problems with the reference itself are silently
// ignored (nothing is written, the route still answers 200), as in ComfyUI.
func (s *Server) saveMask(ctx context.Context, f form, upload *formFile, path string) error {
	refText, ok := f.str("original_ref")
	if !ok {
		return errMalformedRef
	}
	ref, err := comfyjson.Decode([]byte(refText))
	if err != nil {
		return errMalformedRef
	}
	nameV, err := comfyjson.Get(ref, "filename")
	if err != nil {
		return errMalformedRef
	}
	obj := ref.(comfyjson.Object)
	if !obj.Has("filename") {
		return errMalformedRef // KeyError
	}
	name, _ := nameV.(string)
	file, ok := s.maskOriginal(obj, name)
	if !ok {
		return nil
	}
	return s.applyMask(ctx, file, upload.data, path)
}

// maskOriginal resolves original_ref to a file, or reports false for the
// cases ComfyUI ignores.
func (s *Server) maskOriginal(ref comfyjson.Object, name string) (string, bool) {
	name, kind := annotated(name)
	if name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, "..") {
		return "", false
	}
	if kind == "" {
		kind = "output"
		if v, ok := ref.Get("type"); ok {
			kind, _ = v.(string)
		}
	}
	if kind != "output" && kind != "input" && kind != "temp" {
		return "", false
	}
	dir := s.dir(kind)
	if v, ok := ref.Get("subfolder"); ok {
		if sub, _ := v.(string); sub != "" {
			full := nodes.PyJoin(dir, sub)
			if !nodes.Within(dir, full) {
				return "", false
			}
			dir = full
		}
	}
	file := nodes.PyJoin(dir, name)
	st, err := os.Stat(file)
	if err != nil || !st.Mode().IsRegular() {
		return "", false
	}
	return file, true
}

// applyMask merges within the image budget: the original's decoding and
// the merged copy, the mask's decoding and the original's text are
// reserved from the two headers before anything is decoded.
func (s *Server) applyMask(ctx context.Context, original string, mask []byte, path string) error {
	mcfg, mformat, err := imaging.Config(bytes.NewReader(mask))
	if err != nil {
		return err
	}
	if err := s.lim.Check(1, mcfg.Height, mcfg.Width); err != nil {
		return err
	}
	f, err := s.reserveImage(ctx, original, imaging.EncodeWork, imaging.DecodeCost(mcfg, mformat)+imaging.MaxText)
	if err != nil {
		return err
	}
	defer f.res.Release()
	img, data, err := f.decode(s.lim)
	if err != nil {
		return err
	}
	text, _ := imaging.ReadText(data)
	m, _, err := tensor.Decode(s.lim, mask)
	if err != nil {
		return err
	}
	out, err := encoded(func(w io.Writer) error {
		return imaging.WritePNG(w, imaging.WithAlpha(imaging.FromImage(img), imaging.FromImage(m)), text)
	})
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o644)
}
