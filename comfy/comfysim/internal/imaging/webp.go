package imaging

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
)

// A small lossless WebP (VP8L) encoder for /view?preview=webp.
//
// ComfyUI answers that preview with PIL's lossy WebP; clients rely on the
// format, not the bytes. A general-purpose encoder keeps several arrays of
// ints per pixel (tens of bytes a pixel) and the one we used panicked on
// noisy images. This one needs nothing per pixel beyond its output: two
// passes over the image, the first counting symbols, the second writing
// them, with the subtract-green transform and one prefix code per channel
// (no backward references, no colour cache). The output is larger than a
// tuned encoder's, and exactly predictable, which lets the caller budget
// it before encoding.

// maxWebPSide is VP8L's 14-bit limit on width and height.
const maxWebPSide = 1 << 14

// errWebPSize reports an image VP8L cannot hold.
var errWebPSize = errors.New("encode webp: image too large for WebP")

// VP8L alphabet sizes: green (with the 24 length codes), red, blue, alpha,
// distance.
var webpAlphabets = [5]int{256 + 24, 256, 256, 256, 40}

// codeLengthOrder is the order in which code length code lengths are
// written (kCodeLengthCodeOrder).
var codeLengthOrder = [19]int{17, 18, 0, 1, 2, 3, 4, 5, 16, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}

// EncodeWebP encodes img as lossless WebP. opaque drops alpha (PIL's
// convert("RGB")) on the fly, without a copy of the image.
func EncodeWebP(img image.Image, opaque bool) ([]byte, error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 || w > maxWebPSide || h > maxWebPSide {
		return nil, fmt.Errorf("%w: %dx%d", errWebPSize, w, h)
	}
	rows := newRowReader(img, opaque)
	var hist [4][256]uint64 // green, red-green, blue-green, alpha
	alpha := false
	for y := 0; y < h; y++ {
		for _, p := range rows.row(y) {
			g, r, bl, a := byte(p>>8), byte(p>>16), byte(p), byte(p>>24)
			hist[0][g]++
			hist[1][r-g]++
			hist[2][bl-g]++
			hist[3][a]++
			alpha = alpha || a != 0xff
		}
	}
	var codes [5]prefixCode
	for i := range codes {
		var counts []uint64
		if i < 4 {
			counts = hist[i][:]
		}
		codes[i] = newPrefixCode(counts, webpAlphabets[i])
	}
	bw := &bitWriter{}
	writeVP8LHeader(bw, w, h, alpha)
	for i := range codes {
		codes[i].writeTo(bw)
	}
	bits := bw.n
	for i := range 4 {
		for s, c := range hist[i] {
			bits += c * uint64(codes[i].lengths[s])
		}
	}
	bw.grow(int((bits+7)/8) + 8)
	for y := 0; y < h; y++ {
		for _, p := range rows.row(y) {
			g := byte(p >> 8)
			codes[0].put(bw, int(g))
			codes[1].put(bw, int(byte(p>>16)-g))
			codes[2].put(bw, int(byte(p)-g))
			codes[3].put(bw, int(byte(p>>24)))
		}
	}
	return riff(bw.bytes()), nil
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

// riff wraps a VP8L bitstream in its RIFF container.
func riff(vp8l []byte) []byte {
	pad := len(vp8l) & 1
	out := make([]byte, 0, 20+len(vp8l)+pad)
	out = append(out, "RIFF"...)
	out = binary.LittleEndian.AppendUint32(out, uint32(4+8+len(vp8l)+pad))
	out = append(out, "WEBPVP8L"...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(vp8l)))
	out = append(out, vp8l...)
	if pad == 1 {
		out = append(out, 0)
	}
	return out
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

// bitWriter packs bits LSB first.
type bitWriter struct {
	buf  []byte
	acc  uint64
	nacc uint
	n    uint64 // bits written so far
}

func (bw *bitWriter) grow(n int) {
	if cap(bw.buf)-len(bw.buf) < n {
		nb := make([]byte, len(bw.buf), len(bw.buf)+n)
		copy(nb, bw.buf)
		bw.buf = nb
	}
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
}

func (bw *bitWriter) bytes() []byte {
	if bw.nacc > 0 {
		bw.buf = append(bw.buf, byte(bw.acc))
		bw.acc, bw.nacc = 0, 0
	}
	return bw.buf
}
