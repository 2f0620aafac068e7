package tensor

import (
	"encoding/binary"
	"hash/fnv"
	"math"
)

// Seed mixes strings into a 64-bit pattern seed.
func Seed(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
	}
	return h.Sum64()
}

func splitmix(x uint64) uint64 {
	x += 0x9E3779B97F4A7C15
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9
	x = (x ^ (x >> 27)) * 0x94D049BB133111EB
	return x ^ (x >> 31)
}

// Pattern fills an n×h×w RGB batch with a deterministic picture derived from
// seeds (one per image): two colour gradients, a ring and a stripe pattern
// whose colours, angles and frequencies all come from the seed. It stands in
// for what a diffusion model would have drawn: cheap, stable across runs and
// different whenever any input that feeds the seed changes.
func Pattern(lim Limits, h, w int, seeds []uint64) (*Batch, error) {
	b, err := NewBatch(lim, len(seeds), h, w, 3)
	if err != nil {
		return nil, err
	}
	for i, s := range seeds {
		paint(b, i, s)
	}
	return b, nil
}

type palette struct {
	c0, c1    [3]float32
	angle     float64
	freq      float64
	cx, cy, r float64
}

func newPalette(seed uint64) palette {
	var p palette
	x := seed
	next := func() float64 {
		x = splitmix(x)
		return float64(x>>11) / float64(1<<53)
	}
	for c := 0; c < 3; c++ {
		p.c0[c] = float32(next())
		p.c1[c] = float32(next())
	}
	p.angle = next() * 2 * math.Pi
	p.freq = 2 + next()*10
	p.cx, p.cy, p.r = next(), next(), 0.1+next()*0.4
	return p
}

func paint(b *Batch, i int, seed uint64) {
	p := newPalette(seed)
	sin, cos := math.Sincos(p.angle)
	for y := 0; y < b.H; y++ {
		fy := (float64(y) + 0.5) / float64(b.H)
		for x := 0; x < b.W; x++ {
			fx := (float64(x) + 0.5) / float64(b.W)
			t := float32(0.5 + 0.5*(fx*cos+fy*sin)/math.Sqrt2)
			stripe := float32(0.1 * math.Sin(p.freq*2*math.Pi*(fx*sin-fy*cos)))
			d := math.Hypot(fx-p.cx, fy-p.cy)
			ring := float32(0)
			if math.Abs(d-p.r) < 0.02 {
				ring = 0.35
			}
			o := b.Index(i, y, x)
			for c := 0; c < 3; c++ {
				v := p.c0[c]*(1-t) + p.c1[c]*t + stripe + ring
				b.Pix[o+c] = min(max(v, 0), 1)
			}
		}
	}
}
