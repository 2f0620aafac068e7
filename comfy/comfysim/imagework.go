package comfysim

import (
	"bufio"
	"context"
	"image"
	"os"

	"github.com/comfygate/comfygate/comfy/comfysim/internal/tensor"
	"github.com/comfygate/comfygate/internal/imaging"
)

// Image work driven by requests (/view re-encodes, /upload/mask) runs
// under the server's image budget: the header says how much decoding will
// take, the work reserves that plus its own per-pixel need, and only then
// reads and decodes the file. ComfyUI would have PIL decode anything up to
// its decompression-bomb limit; a simulator that is asked for more than
// its budget answers the same 500 as when PIL refuses.

// imageFile is an image file whose decoding is paid for.
type imageFile struct {
	path string
	cfg  image.Config
	res  *imaging.Reservation
}

// reserveImage reads file's header and reserves the file's bytes, its
// decoded pixels and perPixel more bytes a pixel (plus extra). The caller
// releases the reservation.
func (s *Server) reserveImage(ctx context.Context, file string, perPixel, extra int64) (*imageFile, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	cfg, format, err := imaging.Config(bufio.NewReader(f))
	if err != nil {
		return nil, err
	}
	if err := s.lim.Check(1, cfg.Height, cfg.Width); err != nil {
		return nil, err
	}
	need := st.Size() + imaging.DecodeCost(cfg, format) + imaging.Pixels(cfg)*perPixel + extra
	res, err := s.images.Reserve(ctx, need)
	if err != nil {
		return nil, err
	}
	return &imageFile{path: file, cfg: cfg, res: res}, nil
}

// decode reads and decodes the reserved file.
func (f *imageFile) decode(lim tensor.Limits) (image.Image, []byte, error) {
	data, err := os.ReadFile(f.path)
	if err != nil {
		return nil, nil, err
	}
	img, _, err := tensor.Decode(lim, data)
	return img, data, err
}
