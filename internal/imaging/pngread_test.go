package imaging

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"testing"
)

// rawPNG builds a PNG from scanlines as they are stored (each already
// prefixed with its filter byte), with extra chunks before the data.
type rawPNG struct {
	w, h         int
	depth, ctype byte
	interlace    byte
	before       [][2]string // chunk type and body before IDAT
	after        [][2]string // ... and after it
	lines        []byte      // filter bytes and scanlines
	idatPieces   int         // split the data into this many IDAT chunks (default 1)
}

func (p rawPNG) bytes() []byte {
	var b bytes.Buffer
	b.Write(pngMagic)
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], uint32(p.w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(p.h))
	ihdr[8], ihdr[9], ihdr[12] = p.depth, p.ctype, p.interlace
	writeChunk(&b, "IHDR", ihdr[:])
	for _, c := range p.before {
		writeChunk(&b, c[0], []byte(c[1]))
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(p.lines)
	zw.Close()
	data := z.Bytes()
	pieces := max(p.idatPieces, 1)
	for i := range pieces {
		writeChunk(&b, "IDAT", data[i*len(data)/pieces:(i+1)*len(data)/pieces])
	}
	for _, c := range p.after {
		writeChunk(&b, c[0], []byte(c[1]))
	}
	writeChunk(&b, "IEND", nil)
	return b.Bytes()
}

// randomLines makes h scanlines of stride bytes with random filters.
func randomLines(r *rand.Rand, h, stride int) []byte {
	out := make([]byte, 0, h*(1+stride))
	for range h {
		out = append(out, byte(r.IntN(5)))
		for range stride {
			out = append(out, byte(r.IntN(256)))
		}
	}
	return out
}

// readAll reads a Source whole into an NRGBA image.
func readAll(t testing.TB, src Source) *image.NRGBA {
	t.Helper()
	w, h := src.Size()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	err := eachRow(src, func(y int, row []byte) error {
		copy(img.Pix[y*img.Stride:], row)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// sameAsGo compares a streamed decode with Go's image/png, pixel by
// pixel as 8-bit RGBA (16-bit samples by their high byte; fully
// transparent pixels by alpha alone, since Go premultiplies their colour
// away).
func sameAsGo(t testing.TB, data []byte) {
	t.Helper()
	want, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Go's decoder: %v", err)
	}
	p, err := OpenPNG(bytes.NewReader(data), PNGOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, p)
	b := want.Bounds()
	if got.Rect.Dx() != b.Dx() || got.Rect.Dy() != b.Dy() {
		t.Fatalf("size %v, want %v", got.Rect, b)
	}
	for y := range b.Dy() {
		for x := range b.Dx() {
			have := got.NRGBAAt(x, y)
			w := wantPixel(want.At(x, y))
			if w.A == 0 || have.A == 0 {
				w.R, w.G, w.B, have.R, have.G, have.B = 0, 0, 0, 0, 0, 0
			}
			if have != w {
				t.Fatalf("pixel (%d,%d) = %v, want %v", x, y, have, w)
			}
		}
	}
}

// wantPixel is Go's decoded colour as 8-bit non-premultiplied RGBA, 16-bit
// samples cut to their high byte.
func wantPixel(c color.Color) color.NRGBA {
	switch c := c.(type) {
	case color.NRGBA64:
		return color.NRGBA{uint8(c.R >> 8), uint8(c.G >> 8), uint8(c.B >> 8), uint8(c.A >> 8)}
	case color.RGBA64:
		return color.NRGBA{uint8(c.R >> 8), uint8(c.G >> 8), uint8(c.B >> 8), uint8(c.A >> 8)}
	case color.Gray16:
		return color.NRGBA{uint8(c.Y >> 8), uint8(c.Y >> 8), uint8(c.Y >> 8), 0xff}
	}
	return color.NRGBAModel.Convert(c).(color.NRGBA)
}

func TestPNGStreamsAsGoDecodes(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	palette := func(n int, alpha bool) [][2]string {
		var plte, trns []byte
		for i := range n {
			plte = append(plte, byte(i*7), byte(i*13), byte(255-i))
			trns = append(trns, byte(i*37))
		}
		out := [][2]string{{"PLTE", string(plte)}}
		if alpha {
			out = append(out, [2]string{"tRNS", string(trns)})
		}
		return out
	}
	tests := []struct {
		name string
		png  rawPNG
	}{
		{"grey 1-bit", rawPNG{w: 13, h: 5, depth: 1, ctype: ctGray}},
		{"grey 2-bit", rawPNG{w: 9, h: 4, depth: 2, ctype: ctGray}},
		{"grey 4-bit", rawPNG{w: 7, h: 6, depth: 4, ctype: ctGray}},
		{"grey 8-bit", rawPNG{w: 31, h: 7, depth: 8, ctype: ctGray}},
		{"grey 16-bit", rawPNG{w: 8, h: 8, depth: 16, ctype: ctGray}},
		{"grey 8-bit with a colour key", rawPNG{w: 16, h: 16, depth: 8, ctype: ctGray, before: [][2]string{{"tRNS", "\x00\x07"}}}},
		{"grey 2-bit with a colour key", rawPNG{w: 16, h: 3, depth: 2, ctype: ctGray, before: [][2]string{{"tRNS", "\x00\x01"}}}},
		{"RGB 8-bit", rawPNG{w: 17, h: 9, depth: 8, ctype: ctRGB}},
		{"RGB 16-bit", rawPNG{w: 5, h: 5, depth: 16, ctype: ctRGB}},
		{"RGB with a colour key", rawPNG{w: 4, h: 2, depth: 8, ctype: ctRGB, before: [][2]string{{"tRNS", "\x00\x01\x00\x02\x00\x03"}}}},
		{"palette 1-bit", rawPNG{w: 11, h: 3, depth: 1, ctype: ctPalette, before: palette(2, false)}},
		{"palette 4-bit with transparency", rawPNG{w: 10, h: 10, depth: 4, ctype: ctPalette, before: palette(16, true)}},
		{"palette 8-bit, indexes past the PLTE", rawPNG{w: 20, h: 4, depth: 8, ctype: ctPalette, before: palette(100, true)}},
		{"grey and alpha 8-bit", rawPNG{w: 12, h: 12, depth: 8, ctype: ctGrayAlpha}},
		{"grey and alpha 16-bit", rawPNG{w: 3, h: 9, depth: 16, ctype: ctGrayAlpha}},
		{"RGBA 8-bit", rawPNG{w: 33, h: 21, depth: 8, ctype: ctRGBA}},
		{"RGBA 16-bit", rawPNG{w: 6, h: 6, depth: 16, ctype: ctRGBA}},
		{"data over many IDAT chunks", rawPNG{w: 40, h: 40, depth: 8, ctype: ctRGBA, idatPieces: 7}},
		{"text and unknown chunks around the data", rawPNG{w: 2, h: 2, depth: 8, ctype: ctRGB,
			before: [][2]string{{"tEXt", "a\x00b"}, {"gAMA", "\x00\x00\xb1\x8f"}}, after: [][2]string{{"tEXt", "c\x00d"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.png
			bits := map[byte]int{ctGray: 1, ctRGB: 3, ctPalette: 1, ctGrayAlpha: 2, ctRGBA: 4}[p.ctype] * int(p.depth)
			p.lines = randomLines(r, p.h, (p.w*bits+7)/8)
			sameAsGo(t, p.bytes())
		})
	}
}

func TestPNGGoEncoded(t *testing.T) {
	t.Parallel()
	pal := image.NewPaletted(image.Rect(0, 0, 30, 20), color.Palette{color.NRGBA{1, 2, 3, 0}, color.NRGBA{200, 100, 50, 255}, color.NRGBA{9, 9, 9, 128}})
	for i := range pal.Pix {
		pal.Pix[i] = byte(i % 3)
	}
	n64 := image.NewNRGBA64(image.Rect(0, 0, 9, 9))
	for i := range n64.Pix {
		n64.Pix[i] = byte(i * 5)
	}
	for name, img := range map[string]image.Image{
		"noise with alpha": noise(120, 80, 7), "opaque gradient": gradient(200, 100), "palette": pal, "16-bit": n64,
	} {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := png.Encode(&b, img); err != nil {
				t.Fatal(err)
			}
			sameAsGo(t, b.Bytes())
		})
	}
}

func gradient(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetRGBA(x, y, color.RGBA{uint8(x * 2), uint8(y * 7), uint8(x ^ y), 0xff})
		}
	}
	return img
}

func TestPNGRefuses(t *testing.T) {
	t.Parallel()
	good := rawPNG{w: 4, h: 4, depth: 8, ctype: ctRGB, lines: make([]byte, 4*13)}
	valid := good.bytes()
	flip := func(i int) []byte {
		b := bytes.Clone(valid)
		b[i] ^= 0x40
		return b
	}
	extra := good
	extra.lines = make([]byte, 5*13)
	short := good
	short.lines = make([]byte, 3*13)
	badFilter := good
	badFilter.lines = bytes.Clone(good.lines)
	badFilter.lines[13] = 9
	tests := []struct {
		name    string
		data    []byte
		openErr error // from OpenPNG; nil: the pass fails instead
	}{
		{"not a PNG", []byte("GIF89a"), ErrUnidentified},
		{"interlaced", rawPNG{w: 4, h: 4, depth: 8, ctype: ctRGB, interlace: 1}.bytes(), ErrInterlaced},
		{"too wide", rawPNG{w: DefaultMaxPNGWidth + 1, h: 1, depth: 8, ctype: ctRGB}.bytes(), ErrTooLarge},
		{"bad depth", rawPNG{w: 1, h: 1, depth: 4, ctype: ctRGB}.bytes(), errAny},
		{"palette without PLTE", rawPNG{w: 1, h: 1, depth: 8, ctype: ctPalette}.bytes(), errAny},
		{"truncated before the data", valid[:40], errAny},
		{"bad IHDR CRC", flip(30), errAny},
		{"bad IDAT CRC", flip(len(valid) - 14), nil},
		{"truncated data", valid[:len(valid)-20], nil},
		{"no IEND", valid[:len(valid)-12], nil},
		{"too much pixel data", extra.bytes(), nil},
		{"too little pixel data", short.bytes(), nil},
		{"bad filter", badFilter.bytes(), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := OpenPNG(bytes.NewReader(tt.data), PNGOptions{})
			if tt.openErr != nil {
				if err == nil || tt.openErr != errAny && !errors.Is(err, tt.openErr) {
					t.Fatalf("OpenPNG: %v, want %v", err, tt.openErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("OpenPNG: %v", err)
			}
			if err := Verify(p); err == nil {
				t.Fatal("a pass over a broken image succeeded")
			}
		})
	}
	if _, err := OpenPNG(bytes.NewReader(valid), PNGOptions{}); err != nil {
		t.Fatalf("the valid original: %v", err)
	}
}

// errAny accepts any error.
var errAny = errors.New("any error")

func TestPNGText(t *testing.T) {
	t.Parallel()
	data := rawPNG{w: 2, h: 1, depth: 8, ctype: ctRGB, lines: make([]byte, 7),
		before: [][2]string{{"tEXt", "prompt\x00{}"}}, after: [][2]string{{"iTXt", "workflow\x00\x00\x00\x00\x00caf\xc3\xa9"}}}.bytes()
	p, err := OpenPNG(bytes.NewReader(data), PNGOptions{Text: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Text(); len(got) != 1 || got[0] != (TextChunk{"prompt", "{}"}) {
		t.Fatalf("text before a pass: %v", got)
	}
	for range 2 { // a second pass does not repeat the chunks after the data
		if err := Verify(p); err != nil {
			t.Fatal(err)
		}
	}
	want := []TextChunk{{"prompt", "{}"}, {"workflow", "café"}}
	if got := p.Text(); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("text after a pass: %v, want %v", got, want)
	}
	without, _ := OpenPNG(bytes.NewReader(data), PNGOptions{})
	if err := Verify(without); err != nil || without.Text() != nil {
		t.Errorf("text without asking: %v %v", without.Text(), err)
	}
}

// FuzzOpenPNG feeds arbitrary bytes to the streaming decoder: it must
// never panic, and where Go's decoder reads a non-interlaced image the
// streamed pixels must be Go's.
func FuzzOpenPNG(f *testing.F) {
	r := rand.New(rand.NewPCG(3, 4))
	f.Add(rawPNG{w: 3, h: 2, depth: 8, ctype: ctRGBA, lines: randomLines(r, 2, 12)}.bytes())
	f.Add(rawPNG{w: 9, h: 3, depth: 1, ctype: ctGray, lines: randomLines(r, 3, 2)}.bytes())
	f.Add(rawPNG{w: 4, h: 4, depth: 2, ctype: ctPalette, lines: randomLines(r, 4, 1), before: [][2]string{{"PLTE", "\x01\x02\x03\x04\x05\x06"}, {"tRNS", "\x80"}}}.bytes())
	f.Add(rawPNG{w: 2, h: 2, depth: 16, ctype: ctRGB, lines: randomLines(r, 2, 12), before: [][2]string{{"tRNS", "\x00\x01\x00\x02\x00\x03"}}}.bytes())
	var b bytes.Buffer
	_ = png.Encode(&b, noise(5, 5, 9))
	f.Add(b.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := OpenPNG(bytes.NewReader(data), PNGOptions{MaxWidth: 1 << 10, Text: true})
		if err != nil {
			return
		}
		if w, h := p.Size(); w*h > 1<<20 {
			return
		}
		if err := Verify(p); err != nil {
			return
		}
		if _, err := png.Decode(bytes.NewReader(data)); err == nil {
			sameAsGo(t, data)
		}
	})
}

// FuzzPNGRows builds well-formed files around fuzzed headers and
// scanlines (the CRCs right), so that the comparison with Go's decoder
// reaches the filters and every sample layout.
func FuzzPNGRows(f *testing.F) {
	f.Add(uint8(3), uint8(2), uint8(4), uint8(3), []byte{1, 2, 3, 4, 5, 6, 7, 8, 9}, []byte{})
	f.Add(uint8(9), uint8(3), uint8(0), uint8(0), []byte{0, 0xff, 0x81}, []byte{0, 7})
	f.Add(uint8(4), uint8(4), uint8(2), uint8(1), []byte{3, 9, 9}, []byte{1, 2, 3, 4, 5, 6})
	f.Fuzz(func(t *testing.T, w, h, layout, depthIdx uint8, lines, extra []byte) {
		ctypes := []byte{ctGray, ctRGB, ctPalette, ctGrayAlpha, ctRGBA}
		ctype := ctypes[int(layout)%len(ctypes)]
		depths := []byte{1, 2, 4, 8, 16}
		depth := depths[int(depthIdx)%len(depths)]
		if w == 0 || h == 0 || len(lines) == 0 || !validDepth(ctype, int(depth)) {
			return
		}
		bits := map[byte]int{ctGray: 1, ctRGB: 3, ctPalette: 1, ctGrayAlpha: 2, ctRGBA: 4}[ctype] * int(depth)
		stride := 1 + (int(w)*bits+7)/8
		raw := make([]byte, int(h)*stride)
		for i := range raw {
			raw[i] = lines[i%len(lines)] ^ byte(i/len(lines))
		}
		p := rawPNG{w: int(w), h: int(h), depth: depth, ctype: ctype, lines: raw, idatPieces: 1 + len(extra)%3}
		switch {
		case ctype == ctPalette:
			n := 1 + len(extra)%256
			plte := make([]byte, 3*n)
			for i := range plte {
				plte[i] = byte(i * 11)
			}
			p.before = append(p.before, [2]string{"PLTE", string(plte)})
			if len(extra) > 0 {
				p.before = append(p.before, [2]string{"tRNS", string(extra[:min(len(extra), n)])})
			}
		case (ctype == ctGray && len(extra) >= 2) || (ctype == ctRGB && len(extra) >= 6):
			key := bytes.Clone(extra[:map[byte]int{ctGray: 2, ctRGB: 6}[ctype]])
			if depth < 16 { // a key in range, as the format asks (Go reads only its low byte)
				for i := 0; i < len(key); i += 2 {
					key[i], key[i+1] = 0, key[i+1]&byte(1<<depth-1)
				}
			}
			p.before = append(p.before, [2]string{"tRNS", string(key)})
		}
		data := p.bytes()
		if _, err := png.Decode(bytes.NewReader(data)); err != nil {
			return // a filter byte Go refuses too
		}
		sameAsGo(t, data)
	})
}
