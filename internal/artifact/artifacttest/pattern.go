package artifacttest

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"io"
	"testing"
)

// Pattern is a reader of size bytes that exist nowhere: the byte at any
// offset is computed, so large blobs are streamed into a store without
// being held, and any range of them can be checked. Different seeds give
// different content.
//
// The content is a period of pseudo-random bytes repeated (so that making
// it costs a copy, also under the race detector), each period starting
// with its own index, so that no two periods are equal. The period is a
// prime number of bytes, so that an offset that is wrong by a power of two
// shows.
type Pattern struct {
	base            []byte
	seed, off, size int64
}

// patternPeriod is the length of one period.
const patternPeriod = 65521

// NewPattern returns a reader of size pattern bytes for seed.
func NewPattern(size, seed int64) *Pattern {
	return &Pattern{base: patternBase(seed), seed: seed, size: size}
}

func (p *Pattern) Read(b []byte) (int, error) {
	if p.off >= p.size {
		return 0, io.EOF
	}
	n := int(min(int64(len(b)), p.size-p.off))
	fillPattern(b[:n], p.base, p.seed, p.off)
	p.off += int64(n)
	return n, nil
}

// PatternAt returns n pattern bytes of seed from offset off.
func PatternAt(seed, off int64, n int) []byte {
	b := make([]byte, n)
	fillPattern(b, patternBase(seed), seed, off)
	return b
}

// PatternID is the blob ID of NewPattern(size, seed)'s content.
func PatternID(size, seed int64) string {
	h := sha256.New()
	_, _ = io.CopyBuffer(h, NewPattern(size, seed), make([]byte, 256<<10))
	return hex.EncodeToString(h.Sum(nil))
}

// patternBase is one period for seed: each 8-byte word is its index,
// mixed with the seed, times a large odd constant.
func patternBase(seed int64) []byte {
	b := make([]byte, patternPeriod+7)
	for i := 0; i < patternPeriod; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], uint64(int64(i)+seed<<40)*0x9E3779B97F4A7C15)
	}
	return b[:patternPeriod]
}

// fillPattern writes the pattern from offset off.
func fillPattern(b, base []byte, seed, off int64) {
	for i := 0; i < len(b); {
		pos := off + int64(i)
		period, within := pos/patternPeriod, int(pos%patternPeriod)
		n := copy(b[i:], base[within:])
		var stamp [8]byte
		binary.LittleEndian.PutUint64(stamp[:], uint64(period)^uint64(seed)<<56)
		if within < len(stamp) {
			copy(b[i:i+n], stamp[within:])
		}
		i += n
	}
}

// hashOf is the hex SHA-256 of what r yields.
func hashOf(tb testing.TB, r io.Reader) string {
	tb.Helper()
	h := sha256.New()
	if _, err := io.CopyBuffer(h, r, make([]byte, 256<<10)); err != nil {
		tb.Fatalf("read: %v", err)
	}
	return hex.EncodeToString(h.Sum(nil))
}
