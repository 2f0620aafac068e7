package imaging

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"io"
)

// WritePNG encodes src as an 8-bit PNG as it reads it, RGBA when src has
// an alpha band and RGB otherwise, with text (key and value, in order)
// before the image data, as PIL's PngInfo writes it. Memory is a few
// rows; w receives the file in pieces of about 64 KB.
func WritePNG(w io.Writer, src Source, text []TextChunk) error {
	width, height := src.Size()
	channels := 3
	ctype := byte(ctRGB)
	if src.Alpha() {
		channels, ctype = 4, ctRGBA
	}
	var head bytes.Buffer
	head.Write(pngMagic)
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], uint32(width))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(height))
	ihdr[8], ihdr[9] = 8, ctype
	writeChunk(&head, "IHDR", ihdr[:])
	for _, t := range text {
		writeTextChunk(&head, t)
	}
	if _, err := w.Write(head.Bytes()); err != nil {
		return err
	}
	idat := &idatWriter{w: w, buf: make([]byte, 0, idatSize)}
	z, err := zlib.NewWriterLevel(idat, zlib.BestSpeed)
	if err != nil {
		return err
	}
	f := newRowFilter(width*channels, channels)
	err = eachRow(src, func(_ int, row []byte) error {
		line := f.line
		if channels == 4 {
			copy(line, row)
		} else {
			for x := range width {
				copy(line[3*x:3*x+3], row[4*x:4*x+3])
			}
		}
		_, err := z.Write(f.filter())
		return err
	})
	if err != nil {
		return err
	}
	if err := z.Close(); err != nil {
		return err
	}
	if err := idat.flush(); err != nil {
		return err
	}
	var end bytes.Buffer
	writeChunk(&end, "IEND", nil)
	_, err = w.Write(end.Bytes())
	return err
}

// idatSize is the most image data one IDAT chunk carries.
const idatSize = 64 << 10

// idatWriter wraps what it is given in IDAT chunks.
type idatWriter struct {
	w   io.Writer
	buf []byte
}

func (d *idatWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), idatSize-len(d.buf))
		d.buf = append(d.buf, p[:k]...)
		p = p[k:]
		if len(d.buf) == idatSize {
			if err := d.flush(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

func (d *idatWriter) flush() error {
	if len(d.buf) == 0 {
		return nil
	}
	var hdr [8]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(len(d.buf)))
	copy(hdr[4:], "IDAT")
	crc := crc32.NewIEEE()
	crc.Write(hdr[4:])
	crc.Write(d.buf)
	d.buf = binary.BigEndian.AppendUint32(d.buf, crc.Sum32())
	if _, err := d.w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := d.w.Write(d.buf)
	d.buf = d.buf[:0]
	return err
}

// rowFilter picks each scanline's filter with libpng's heuristic: the
// one whose output has the smallest sum of absolute values (as signed
// bytes). Filters are tried most-likely-best first (Up, Paeth, None, Sub,
// Average), each abandoned once it cannot win.
type rowFilter struct {
	line, prev []byte    // this scanline and the previous one, unfiltered
	out        [5][]byte // filter byte and filtered scanline, per filter
	bpp        int
}

// PNG filter types.
const (
	ftNone = iota
	ftSub
	ftUp
	ftAverage
	ftPaeth
)

func newRowFilter(stride, bpp int) *rowFilter {
	f := &rowFilter{line: make([]byte, stride), prev: make([]byte, stride), bpp: bpp}
	for i := range f.out {
		f.out[i] = make([]byte, 1+stride)
		f.out[i][0] = byte(i)
	}
	return f
}

// filter returns the filtered form of f.line and makes it the previous
// line.
func (f *rowFilter) filter() []byte {
	best, bestSum := ftUp, f.apply(ftUp, int(^uint(0)>>1))
	for _, ft := range []int{ftPaeth, ftNone, ftSub, ftAverage} {
		if sum := f.apply(ft, bestSum); sum < bestSum {
			best, bestSum = ft, sum
		}
	}
	f.line, f.prev = f.prev, f.line
	return f.out[best]
}

// apply filters the line with ft into f.out[ft] and returns the sum, or
// any sum ≥ limit once it reaches limit (the output is then partial).
func (f *rowFilter) apply(ft, limit int) int {
	cur, prev, bpp, o := f.line, f.prev, f.bpp, f.out[ft][1:]
	sum := 0
	for i := range cur {
		var a, c byte
		if i >= bpp {
			a, c = cur[i-bpp], prev[i-bpp]
		}
		var v byte
		switch ft {
		case ftNone:
			v = cur[i]
		case ftSub:
			v = cur[i] - a
		case ftUp:
			v = cur[i] - prev[i]
		case ftAverage:
			v = cur[i] - byte((int(a)+int(prev[i]))/2)
		default:
			v = cur[i] - paeth(a, prev[i], c)
		}
		o[i] = v
		if sum += abs8(v); sum >= limit {
			return sum
		}
	}
	return sum
}

// abs8 is |v| of a byte read as signed.
func abs8(v byte) int {
	if v < 0x80 {
		return int(v)
	}
	return 256 - int(v)
}
