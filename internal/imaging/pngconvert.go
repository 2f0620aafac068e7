package imaging

import "encoding/binary"

// convert turns an unfiltered scanline s into 8-bit RGBA in out: 16-bit
// samples keep their high byte, grey levels below 8 bits are scaled to
// 0..255, and a colour key (tRNS of a grey or RGB image) makes the pixels
// of that exact colour transparent.
func (p *PNG) convert(s, out []byte) {
	switch p.ctype {
	case ctGray:
		p.convertGray(s, out)
	case ctRGB:
		p.convertRGB(s, out)
	case ctPalette:
		for x := range p.w {
			c := p.palette[p.sample(s, x)]
			copy(out[4*x:4*x+4], c[:])
		}
	case ctGrayAlpha:
		step := p.depth / 4 // bytes a pixel: 2 or 4
		for x := range p.w {
			g, a := s[step*x], s[step*x+step/2]
			out[4*x], out[4*x+1], out[4*x+2], out[4*x+3] = g, g, g, a
		}
	case ctRGBA:
		if p.depth == 8 {
			copy(out, s)
			return
		}
		for x := range p.w {
			out[4*x], out[4*x+1], out[4*x+2], out[4*x+3] = s[8*x], s[8*x+2], s[8*x+4], s[8*x+6]
		}
	}
}

// sample is pixel x's value in a scanline of one-sample pixels of fewer
// than 16 bits.
func (p *PNG) sample(s []byte, x int) int {
	if p.depth == 8 {
		return int(s[x])
	}
	bit := x * p.depth
	shift := 8 - p.depth - bit%8
	return int(s[bit/8]>>shift) & (1<<p.depth - 1)
}

func (p *PNG) convertGray(s, out []byte) {
	key := -1
	if p.key != nil {
		key = int(binary.BigEndian.Uint16(p.key))
	}
	for x := range p.w {
		var v int
		var g byte
		if p.depth == 16 {
			v = int(binary.BigEndian.Uint16(s[2*x:]))
			g = byte(v >> 8)
		} else {
			v = p.sample(s, x)
			g = byte(v * 255 / (1<<p.depth - 1))
		}
		a := byte(0xff)
		if v == key {
			a = 0
		}
		out[4*x], out[4*x+1], out[4*x+2], out[4*x+3] = g, g, g, a
	}
}

func (p *PNG) convertRGB(s, out []byte) {
	var key [3]int
	keyed := p.key != nil
	if keyed {
		for i := range key {
			key[i] = int(binary.BigEndian.Uint16(p.key[2*i:]))
		}
	}
	for x := range p.w {
		var c [3]int
		var b [3]byte
		for i := range 3 {
			if p.depth == 16 {
				c[i] = int(binary.BigEndian.Uint16(s[6*x+2*i:]))
				b[i] = byte(c[i] >> 8)
			} else {
				c[i] = int(s[3*x+i])
				b[i] = s[3*x+i]
			}
		}
		a := byte(0xff)
		if keyed && c == key {
			a = 0
		}
		out[4*x], out[4*x+1], out[4*x+2], out[4*x+3] = b[0], b[1], b[2], a
	}
}
