package engine

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"image"
	"strconv"
	"time"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/comfy/comfyjson"
	"github.com/comfygate/comfygate/comfy/comfysim/internal/nodes"
	"github.com/comfygate/comfygate/comfy/comfysim/internal/tensor"
	"github.com/comfygate/comfygate/internal/imaging"
)

// env is the nodes.Env of one node invocation.
type env struct {
	r      *run
	nodeID string
}

var _ nodes.Env = (*env)(nil)

func (v *env) Context() context.Context { return v.r.ctx }
func (v *env) StepWait() error {
	return v.r.wait(time.Now(), func() time.Duration { return v.r.e.cfg.Knobs.StepDelay() })
}
func (v *env) Limits() tensor.Limits         { return v.r.e.cfg.Limits }
func (v *env) Dir(kind string) string        { return v.r.e.cfg.Dir(kind) }
func (v *env) PreviewMethod() string         { return v.r.e.cfg.Knobs.PreviewMethod() }
func (v *env) PreviewSize() int              { return v.r.e.cfg.Knobs.PreviewSize() }
func (v *env) Models(folder string) []string { return v.r.e.cfg.Knobs.Models(folder) }
func (v *env) ProgressText(text string) {
	v.r.e.cfg.Emitter.Binary(comfy.EncodeText(v.nodeID, text), nil)
}

// Progress is main.py's progress hook: interrupt check first, then
// progress_state, the type-4 preview (negotiated clients), progress, and the
// type-1 preview (everyone else), in that order.
func (v *env) Progress(value, max int, preview *nodes.Preview) error {
	r := v.r
	e := r.e
	if e.interrupted.Load() {
		return nodes.ErrInterrupted
	}
	if err := e.cfg.Knobs.Checkpoint(r.ctx); err != nil {
		return err
	}
	e.cfg.Emitter.Event(r.progress.update(v.nodeID, value, max), r.client)
	meta := e.cfg.Emitter.SupportsPreviewMetadata(r.client)
	var img []byte
	var format string
	if preview != nil {
		img, format = encodePreview(e.cfg.Limits, preview)
	}
	if img != nil && meta {
		e.cfg.Emitter.Binary(previewWithMetadata(v.nodeID, r.job.PromptID, format, img), r.client)
	}
	node := v.nodeID
	e.cfg.Emitter.Event(comfy.Progress{
		Value: jsonInt(value), Max: jsonInt(max), PromptID: r.job.PromptID, Node: &node,
	}, r.client)
	if img != nil && !meta {
		f := comfy.FormatJPEG
		if format == "PNG" {
			f = comfy.FormatPNG
		}
		e.cfg.Emitter.Binary(comfy.EncodePreview(f, img), r.client)
	}
	return nil
}

func jsonInt(v int) json.Number { return json.Number(strconv.Itoa(v)) }

// encodePreview scales the preview to fit MaxSize (ImageOps.contain, which
// also enlarges) and encodes it as PIL would (JPEG quality 95, PNG).
func encodePreview(lim tensor.Limits, p *nodes.Preview) ([]byte, string) {
	img := p.Image
	if p.MaxSize > 0 {
		img = contain(lim, img, p.MaxSize)
	}
	if p.Format == "PNG" {
		b, err := imaging.EncodePNG(img, nil)
		if err != nil {
			return nil, ""
		}
		return b, "PNG"
	}
	b, err := imaging.EncodeJPEG(img, 95)
	if err != nil {
		return nil, ""
	}
	return b, "JPEG"
}

func contain(lim tensor.Limits, img image.Image, size int) image.Image {
	r := img.Bounds()
	w, h := r.Dx(), r.Dy()
	if w == 0 || h == 0 || (w == size && h <= size) || (h == size && w <= size) {
		return img
	}
	nw, nh := size, size
	if w > h {
		nh = max(1, h*size/w)
	} else {
		nw = max(1, w*size/h)
	}
	b, _, err := tensor.FromImage(lim, img)
	if err != nil {
		return img
	}
	s, err := tensor.Resize(lim, b, nw, nh, "bilinear", false)
	if err != nil {
		return img
	}
	return tensor.ToImage(s, 0)
}

// previewWithMetadata builds a type-4 frame whose metadata is json.dumps
// output, as ComfyUI sends it.
func previewWithMetadata(nodeID, promptID, format string, img []byte) []byte {
	mime := "image/jpeg"
	if format == "PNG" {
		mime = "image/png"
	}
	meta := comfyjson.MustDumps(comfy.PreviewMetadata{
		NodeID: nodeID, PromptID: promptID, DisplayNodeID: nodeID, RealNodeID: nodeID, ImageType: mime,
	})
	out := make([]byte, 8, 8+len(meta)+len(img))
	binary.BigEndian.PutUint32(out, comfy.BinaryPreviewImageWithMetadata)
	binary.BigEndian.PutUint32(out[4:], uint32(len(meta)))
	out = append(out, meta...)
	return append(out, img...)
}
