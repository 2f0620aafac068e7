package fleet

import (
	"context"
	"time"

	"bytes"
	"fmt"
	"github.com/comfygate/comfygate/comfy"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"path"
	"strings"

	_ "image/gif" // decoded for re-encoding

	_ "golang.org/x/image/webp" // WebP outputs decoded for re-encoding

	"github.com/comfygate/comfygate/internal/imaging"
	"github.com/comfygate/comfygate/internal/job"
)

// maxFormatPixels bounds the images re-encoded to a job's delivery format:
// decoding one holds 4 bytes a pixel (64 MiB here). A larger image is
// stored as the backend wrote it.
const maxFormatPixels = 16 << 20

// defaultJPEGQuality is used when a job asks for JPEG without a quality.
const defaultJPEGQuality = 90

// wantsFormat reports whether a file of type ctype is to be re-encoded for
// o: an image comfygate decodes, in another format than asked for (or
// JPEG at a chosen quality).
func wantsFormat(o job.OutputOptions, ctype string) bool {
	switch {
	case o.Format == "":
		return false
	case ctype != "image/png" && ctype != "image/jpeg" && ctype != "image/webp" && ctype != "image/gif":
		return false
	}
	return ctype != o.ContentType() || (o.Format == job.FormatJPEG && o.Quality != 0)
}

// reencode decodes data (at most maxFormatPixels) and encodes it as o
// asks. PNG is lossless; JPEG takes Quality (default 90); WebP is lossless
// VP8L (internal/imaging's encoder, whose memory is its output; it has no
// lossy mode, so Quality does not apply).
func reencode(data []byte, o job.OutputOptions) ([]byte, error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("not a decodable image: %w", err)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px <= 0 || px > maxFormatPixels {
		return nil, fmt.Errorf("%dx%d is beyond the %d pixel budget for re-encoding", cfg.Width, cfg.Height, maxFormatPixels)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("decode image: %w", err)
	}
	var buf bytes.Buffer
	switch o.Format {
	case job.FormatPNG:
		err = png.Encode(&buf, img)
	case job.FormatJPEG:
		q := o.Quality
		if q == 0 {
			q = defaultJPEGQuality
		}
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: q})
	case job.FormatWebP:
		var plan *imaging.WebP
		if plan, err = imaging.PlanWebP(imaging.FromImage(img)); err == nil {
			_, err = plan.WriteTo(&buf)
		}
	default:
		return nil, fmt.Errorf("unknown format %q", o.Format)
	}
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", o.Format, err)
	}
	return buf.Bytes(), nil
}

// withExt renames a file for its new format: "ComfyUI_00001_.png" with
// "jpeg" is "ComfyUI_00001_.jpg".
func withExt(name, format string) string {
	ext := "." + format
	if format == job.FormatJPEG {
		ext = ".jpg"
	}
	return strings.TrimSuffix(name, path.Ext(name)) + ext
}

// readAll reads a capped body whole, for re-encoding.
func readAll(r io.Reader) ([]byte, error) { return io.ReadAll(r) }

// storeFormatted stores an image output in the job's delivery format. An
// image that cannot be re-encoded (not decodable, over the pixel budget) is
// stored as the backend wrote it, and the log says why.
func (r *run) storeFormatted(ctx context.Context, ref comfy.FileRef, body *capReader, ctype string, start time.Time) (fileRecord, error) {
	data, err := readAll(body)
	r.observeView(start, err)
	if err != nil {
		if body.readErr != nil {
			return fileRecord{}, &viewError{body.readErr}
		}
		return fileRecord{}, fmt.Errorf("%s: %w (limit %d bytes)", ref.Filename, err, r.f.cfg.MaxOutputBytes)
	}
	rec := fileRecord{ContentType: ctype}
	if out, err := reencode(data, r.format); err != nil {
		r.f.log.Warn("output kept in its own format", "job", r.jobID, "file", ref.Filename, "format", r.format.Format, "err", err)
	} else {
		data, rec.ContentType, rec.Filename = out, r.format.ContentType(), withExt(ref.Filename, r.format.Format)
	}
	id, size, err := r.f.arts.PutBlob(ctx, bytes.NewReader(data), rec.ContentType)
	if err != nil {
		return fileRecord{}, fmt.Errorf("store %s: %w", ref.Filename, err)
	}
	rec.ArtifactID, rec.Size = id, size
	return rec, nil
}
