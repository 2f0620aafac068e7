package comfyapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/comfygate/comfygate/internal/imaging"
)

// Re-encodes (/view's preview= and channel=) and mask merges run in
// bounded memory: a PNG that is not interlaced streams from the store a
// few rows at a time, whatever its height, and is written out as it is
// read; other images are decoded whole within the handler's image budget
// (Config.ImageBudgetBytes), reserved from their header before a pixel is
// allocated. ComfyUI has PIL decode anything up to its decompression-bomb
// limit; an image beyond MaxImagePixels, or one that would need more than
// the whole budget, is refused here with a 422 that says so.

// imageTooLarge is an image beyond what re-encoding may take.
type imageTooLarge struct{ err error }

func (e *imageTooLarge) Error() string { return e.err.Error() }
func (e *imageTooLarge) Unwrap() error { return e.err }

// openImage makes a stored file ready for re-encoding; text keeps a PNG's
// text chunks. A file that is not an image is errPython (PIL's
// UnidentifiedImageError, unhandled in ComfyUI).
func (h *Handler) openImage(ctx context.Context, r io.ReadSeeker, text bool) (*imaging.Image, error) {
	m, err := imaging.Open(ctx, r, imaging.OpenOptions{MaxPixels: h.cfg.MaxImagePixels, Budget: h.images, Text: text})
	switch {
	case err == nil:
		return m, nil
	case errors.Is(err, imaging.ErrTooLarge):
		return nil, &imageTooLarge{err}
	case ctx.Err() != nil:
		return nil, ctx.Err()
	}
	return nil, errPython
}

// previewFormat reads preview= ("<format>;<quality>"): webp unless jpeg,
// and webp whenever the channel holds "a"; quality 90 unless the last
// part is a number.
func previewFormat(q viewQuery) (string, int) {
	parts := strings.Split(q.preview, ";")
	format := parts[0]
	if (format != "webp" && format != "jpeg") || strings.Contains(q.channel, "a") {
		format = "webp"
	}
	quality := 90
	if last := parts[len(parts)-1]; last != "" {
		if n, err := strconv.Atoi(last); err == nil && n >= 0 {
			quality = n
		}
	}
	return format, quality
}

// reencode answers preview= and channel=rgb / channel=a (PNG) from the
// image in r. The image is read whole once before the answer starts (WebP
// plans its codes from it; PNG and JPEG check it), so a broken file still
// gets ComfyUI's 500; the answer is then written as the image is read
// again.
func (h *Handler) reencode(w http.ResponseWriter, ctx context.Context, r io.ReadSeeker, q viewQuery) error {
	m, err := h.openImage(ctx, r, false)
	if err != nil {
		return err
	}
	defer m.Release()
	var src imaging.Source = m
	if q.hasPrev {
		format, quality := previewFormat(q)
		if format == "webp" {
			if q.channel == "rgb" {
				src = imaging.Opaque(src)
			}
			return h.writeWebP(w, src, q.name)
		}
		return h.writeChecked(w, src, "image/jpeg", q.name, func(w io.Writer, s imaging.Source) error {
			return imaging.WriteJPEG(w, imaging.Opaque(s), quality)
		})
	}
	return h.writeChecked(w, src, "image/png", q.name, func(w io.Writer, s imaging.Source) error {
		if q.channel == "a" {
			return imaging.WritePNG(w, imaging.AlphaOnly(s), nil)
		}
		return imaging.WritePNG(w, imaging.Opaque(s), nil)
	})
}

func (h *Handler) writeWebP(w http.ResponseWriter, src imaging.Source, name string) error {
	plan, err := imaging.PlanWebP(src)
	if errors.Is(err, imaging.ErrTooLarge) {
		return &imageTooLarge{err}
	}
	if err != nil {
		return errPython
	}
	imageHeaders(w, "image/webp", name)
	w.Header().Set("Content-Length", strconv.FormatInt(plan.Size(), 10))
	w.WriteHeader(http.StatusOK)
	_, err = plan.WriteTo(clientWriter{w})
	abortOn(err)
	return nil
}

// writeChecked reads src once to check it, then writes the answer as
// encode reads it again.
func (h *Handler) writeChecked(w http.ResponseWriter, src imaging.Source, typ, name string, encode func(io.Writer, imaging.Source) error) error {
	if err := imaging.Verify(src); err != nil {
		return errPython
	}
	imageHeaders(w, typ, name)
	w.WriteHeader(http.StatusOK)
	abortOn(encode(clientWriter{w}, src))
	return nil
}

func imageHeaders(w http.ResponseWriter, typ, name string) {
	hd := w.Header()
	hd.Set("Content-Type", typ)
	hd.Set("Content-Disposition", contentDisposition(name))
}

// abortOn cuts the connection when an answer under way cannot be
// finished, so that the client sees a broken transfer rather than a
// short image. A write error means the client is gone already.
func abortOn(err error) {
	var werr *writeError
	if err == nil || errors.As(err, &werr) {
		return
	}
	panic(http.ErrAbortHandler) // net/http's way to drop a connection mid-answer
}

// clientWriter marks the errors of writes to the client.
type clientWriter struct{ w io.Writer }

func (c clientWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	if err != nil {
		err = &writeError{err}
	}
	return n, err
}

// writeError is a failed write to the client.
type writeError struct{ err error }

func (e *writeError) Error() string { return "write answer: " + e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

// mergeMask is /upload/mask's image: the original's colours with the
// mask's alpha, keeping the original's PNG text, written to put as it is
// made. A broken image is errPython, as PIL's exception is in ComfyUI.
func (h *Handler) mergeMask(ctx context.Context, original, mask io.ReadSeeker, put func(io.Reader) error) error {
	om, err := h.openImage(ctx, original, true)
	if err != nil {
		return err
	}
	defer om.Release()
	mm, err := h.openImage(ctx, mask, false)
	if err != nil {
		return err
	}
	defer mm.Release()
	merged := imaging.WithAlpha(om, mm)
	if err := imaging.Verify(merged); err != nil {
		return errPython
	}
	text := slices.Clone(om.Text())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := imaging.WritePNG(pw, merged, text)
		pw.CloseWithError(err)
		done <- err
	}()
	err = put(pr)
	pr.CloseWithError(errors.New("store stopped reading")) // ends the writer if put gave up early
	if werr := <-done; err == nil && werr != nil {
		err = fmt.Errorf("encode mask: %w", werr)
	}
	return err
}
