package imaging

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// A small lossless WebP (VP8L) encoder for /view?preview=webp.
//
// ComfyUI answers that preview with PIL's lossy WebP; clients rely on the
// format, not the bytes. A general-purpose encoder keeps several arrays of
// ints per pixel (tens of bytes a pixel), and the one the gateway used
// panicked on noisy images. This one keeps nothing per pixel: two passes
// over the rows, the first counting symbols, the second writing them as
// they come, with the subtract-green transform and one prefix code per
// channel (no backward references, no colour cache). The output is larger
// than a tuned encoder's, and its size is known exactly after the first
// pass, so an answer can announce its length before it is written.

// maxWebPSide is VP8L's 14-bit limit on width and height.
const maxWebPSide = 1 << 14

// VP8L alphabet sizes: green (with the 24 length codes), red, blue, alpha,
// distance.
var webpAlphabets = [5]int{256 + 24, 256, 256, 256, 40}

// codeLengthOrder is the order in which code length code lengths are
// written (kCodeLengthCodeOrder).
var codeLengthOrder = [19]int{17, 18, 0, 1, 2, 3, 4, 5, 16, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}

// WebP is a lossless WebP encoding of a Source, planned from one pass
// over its rows (the symbol counts, hence the prefix codes and the exact
// size) and written by a second.
type WebP struct {
	src   Source
	w, h  int
	alpha bool
	codes [5]prefixCode
	head  []byte // RIFF and VP8L headers and the prefix codes
	tail  uint   // bits of head's last byte still free (0..7 used)
	bits  uint64 // size of the VP8L bitstream in bits
}

// PlanWebP reads src once and plans its encoding. Images wider or taller
// than WebP allows (16384) are an error wrapping ErrTooLarge.
func PlanWebP(src Source) (*WebP, error) {
	w, h := src.Size()
	if w <= 0 || h <= 0 || w > maxWebPSide || h > maxWebPSide {
		return nil, fmt.Errorf("%w: %dx%d is beyond WebP's %d pixels a side", ErrTooLarge, w, h, maxWebPSide)
	}
	p := &WebP{src: src, w: w, h: h}
	var hist [4][256]uint64 // green, red-green, blue-green, alpha
	err := eachRow(src, func(_ int, row []byte) error {
		for i := 0; i < len(row); i += 4 {
			r, g, b, a := row[i], row[i+1], row[i+2], row[i+3]
			hist[0][g]++
			hist[1][r-g]++
			hist[2][b-g]++
			hist[3][a]++
			p.alpha = p.alpha || a != 0xff
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i := range p.codes {
		var counts []uint64
		if i < 4 {
			counts = hist[i][:]
		}
		p.codes[i] = newPrefixCode(counts, webpAlphabets[i])
	}
	bw := &bitWriter{}
	writeVP8LHeader(bw, w, h, p.alpha)
	for i := range p.codes {
		p.codes[i].writeTo(bw)
	}
	p.bits = bw.n
	for i := range 4 {
		for s, c := range hist[i] {
			p.bits += c * uint64(p.codes[i].lengths[s])
		}
	}
	p.head, p.tail = bw.buf, bw.nacc
	if bw.nacc > 0 {
		p.head = append(p.head, byte(bw.acc))
	}
	return p, nil
}

// Size is the number of bytes WriteTo writes.
func (p *WebP) Size() int64 { return riffHeaderSize + p.vp8lSize() + p.vp8lSize()&1 }

func (p *WebP) vp8lSize() int64 { return int64((p.bits + 7) / 8) }

// riffHeaderSize is "RIFF", its size, "WEBP", "VP8L" and the chunk size.
const riffHeaderSize = 20

// WriteTo reads the source a second time and writes the encoding as it
// goes. The source must give the same pixels as when it was planned.
func (p *WebP) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	n := p.vp8lSize()
	var hdr [riffHeaderSize]byte
	copy(hdr[:], "RIFF")
	binary.LittleEndian.PutUint32(hdr[4:], uint32(4+8+n+n&1))
	copy(hdr[8:], "WEBPVP8L")
	binary.LittleEndian.PutUint32(hdr[16:], uint32(n))
	if _, err := cw.Write(hdr[:]); err != nil {
		return cw.n, err
	}
	bw := &bitWriter{out: cw, buf: make([]byte, 0, webpFlush+8)}
	bw.buf = append(bw.buf, p.head...)
	if p.tail > 0 { // continue in the header's last, partly used byte
		bw.acc, bw.nacc = uint64(bw.buf[len(bw.buf)-1]), p.tail
		bw.buf = bw.buf[:len(bw.buf)-1]
	}
	bw.n = uint64(len(bw.buf))*8 + uint64(bw.nacc)
	err := eachRow(p.src, func(_ int, row []byte) error {
		for i := 0; i < len(row); i += 4 {
			g := row[i+1]
			p.codes[0].put(bw, int(g))
			p.codes[1].put(bw, int(row[i]-g))
			p.codes[2].put(bw, int(row[i+2]-g))
			p.codes[3].put(bw, int(row[i+3]))
		}
		return bw.err
	})
	if err == nil && bw.n != p.bits {
		err = errors.New("encode webp: the image changed between the passes")
	}
	if err == nil {
		err = bw.flushAll(n & 1)
	}
	return cw.n, err
}

// EncodeWebP encodes src in memory; see PlanWebP.
func EncodeWebP(src Source) ([]byte, error) {
	p, err := PlanWebP(src)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.Grow(int(p.Size()))
	if _, err := p.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// countWriter counts what reaches w.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// writeVP8LHeader writes the signature, size, alpha hint, version, the
// subtract-green transform and the "no colour cache, no meta codes" bits.
func writeVP8LHeader(bw *bitWriter, w, h int, alpha bool) {
	bw.write(0x2f, 8)
	bw.write(uint64(w-1), 14)
	bw.write(uint64(h-1), 14)
	a := uint64(0)
	if alpha {
		a = 1
	}
	bw.write(a, 1)
	bw.write(0, 3) // version
	bw.write(1, 1) // a transform follows
	bw.write(2, 2) // SUBTRACT_GREEN
	bw.write(0, 1) // no more transforms
	bw.write(0, 1) // no colour cache
	bw.write(0, 1) // no meta prefix codes
}

// prefixCode is one canonical prefix code: lengths and codes per symbol,
// and how it is described in the stream.
type prefixCode struct {
	lengths []uint8
	codes   []uint16 // bit-reversed, ready to write LSB first
	// simple holds the symbols (ascending) of a code written in VP8L's
	// simple form; nil for the normal form.
	simple []int
	// single: one symbol, coded with zero bits.
	single bool
}

// newPrefixCode builds a code for counts (nil: an unused alphabet) over an
// alphabet of size n.
func newPrefixCode(counts []uint64, n int) prefixCode {
	var used []int
	for s, c := range counts {
		if c > 0 {
			used = append(used, s)
		}
	}
	pc := prefixCode{lengths: make([]uint8, n), codes: make([]uint16, n)}
	switch {
	case len(used) == 0:
		pc.simple, pc.single = []int{0}, true
		return pc
	case len(used) == 1:
		pc.simple, pc.single = used, true
		return pc
	}
	full := make([]uint64, n)
	copy(full, counts)
	pc.lengths = huffmanLengths(full, 15)
	if len(used) == 2 && used[1] < 256 {
		pc.simple = used
	}
	pc.codes = canonicalCodes(pc.lengths)
	return pc
}

func (pc *prefixCode) put(bw *bitWriter, s int) {
	if !pc.single {
		bw.write(uint64(pc.codes[s]), uint(pc.lengths[s]))
	}
}

// writeTo describes the code: the simple form for one or two small
// symbols, else the code lengths, themselves prefix-coded.
func (pc *prefixCode) writeTo(bw *bitWriter) {
	if pc.simple != nil {
		bw.write(1, 1)
		bw.write(uint64(len(pc.simple)-1), 1)
		if pc.simple[0] < 2 {
			bw.write(0, 1)
			bw.write(uint64(pc.simple[0]), 1)
		} else {
			bw.write(1, 1)
			bw.write(uint64(pc.simple[0]), 8)
		}
		if len(pc.simple) == 2 {
			bw.write(uint64(pc.simple[1]), 8)
		}
		return
	}
	bw.write(0, 1)
	// The code lengths are written one symbol each (0..15, no repeat
	// codes), coded with a code of their own.
	var counts [19]uint64
	for _, l := range pc.lengths {
		counts[l]++
	}
	clc := newCodeLengthCode(counts[:])
	last := 3
	for i, sym := range codeLengthOrder {
		if clc.lengths[sym] > 0 {
			last = max(last, i)
		}
	}
	bw.write(uint64(last+1-4), 4)
	for _, sym := range codeLengthOrder[:last+1] {
		bw.write(uint64(clc.lengths[sym]), 3)
	}
	bw.write(0, 1) // every symbol's length follows
	for _, l := range pc.lengths {
		clc.put(bw, int(l))
	}
}

// newCodeLengthCode builds the code of the code lengths (at most 7 bits).
// A single used length gets a one-bit length in the header, which the
// decoder reads as a zero-bit code.
func newCodeLengthCode(counts []uint64) prefixCode {
	used := 0
	only := 0
	for s, c := range counts {
		if c > 0 {
			used++
			only = s
		}
	}
	pc := prefixCode{lengths: make([]uint8, len(counts))}
	if used == 1 {
		pc.lengths[only] = 1
		pc.single = true
		return pc
	}
	pc.lengths = huffmanLengths(counts, 7)
	pc.codes = canonicalCodes(pc.lengths)
	return pc
}

// canonicalCodes assigns canonical codes (shorter first, then by symbol)
// and returns them bit-reversed for LSB-first writing.
func canonicalCodes(lengths []uint8) []uint16 {
	var count [16]int
	for _, l := range lengths {
		count[l]++
	}
	count[0] = 0
	var next [16]int
	code := 0
	for l := 1; l < 16; l++ {
		code = (code + count[l-1]) << 1
		next[l] = code
	}
	codes := make([]uint16, len(lengths))
	for s, l := range lengths {
		if l == 0 {
			continue
		}
		c := next[l]
		next[l]++
		rev := 0
		for range l {
			rev = rev<<1 | c&1
			c >>= 1
		}
		codes[s] = uint16(rev)
	}
	return codes
}

// webpFlush is how many bytes the bit writer gathers before it passes
// them on.
const webpFlush = 32 << 10

// bitWriter packs bits LSB first; with out set, it passes full buffers on
// as they fill.
type bitWriter struct {
	buf  []byte
	acc  uint64
	nacc uint
	n    uint64 // bits written so far
	out  io.Writer
	err  error // the first error of out
}

// write appends the low n bits of v (n ≤ 32).
func (bw *bitWriter) write(v uint64, n uint) {
	bw.acc |= v << bw.nacc
	bw.nacc += n
	bw.n += uint64(n)
	for bw.nacc >= 8 {
		bw.buf = append(bw.buf, byte(bw.acc))
		bw.acc >>= 8
		bw.nacc -= 8
	}
	if bw.out != nil && len(bw.buf) >= webpFlush && bw.err == nil {
		_, bw.err = bw.out.Write(bw.buf)
		bw.buf = bw.buf[:0]
	}
}

// flushAll writes what is left, the last partial byte and pad zero bytes.
func (bw *bitWriter) flushAll(pad int64) error {
	if bw.err != nil {
		return bw.err
	}
	if bw.nacc > 0 {
		bw.buf = append(bw.buf, byte(bw.acc))
		bw.acc, bw.nacc = 0, 0
	}
	for range pad {
		bw.buf = append(bw.buf, 0)
	}
	_, err := bw.out.Write(bw.buf)
	bw.buf = bw.buf[:0]
	return err
}
