package imaging

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
)

// A PNG read row by row: the inflated image data is unfiltered one
// scanline at a time, so a pass holds two scanlines and one RGBA row
// whatever the height. Interlaced (Adam7) files are not streamable; Open
// decodes them whole instead.

// ErrInterlaced is OpenPNG's answer for an interlaced PNG.
var ErrInterlaced = errors.New("png: interlaced")

// PNG is a non-interlaced PNG file as a Source.
type PNG struct {
	r        io.ReadSeeker
	w, h     int
	depth    int // bits a sample: 1, 2, 4, 8 or 16
	ctype    byte
	palette  [256][4]byte // RGBA; entries past the PLTE are opaque black, as in Go and libpng
	key      []byte       // tRNS of a grey or RGB image: the transparent colour's samples
	idat     int64        // offset of the first IDAT chunk
	keepText bool
	text     []TextChunk // read so far; whole after a complete pass
	textSize int         // bytes of text
	// text and textSize as they stood at the image data, where every
	// pass starts collecting again.
	textBefore, textSizeBefore int
}

// PNG colour types.
const (
	ctGray      = 0
	ctRGB       = 2
	ctPalette   = 3
	ctGrayAlpha = 4
	ctRGBA      = 6
)

// PNGOptions tune OpenPNG.
type PNGOptions struct {
	// MaxWidth bounds the width, and so the memory of a pass (a few
	// times 4 × width bytes). Default 65535.
	MaxWidth int
	// Text keeps the text chunks (tEXt, zTXt, iTXt) for Text.
	Text bool
}

// DefaultMaxPNGWidth is PNGOptions.MaxWidth's default.
const DefaultMaxPNGWidth = 65535

// OpenPNG reads a PNG's header and the chunks before its image data. Data
// that is not a PNG is ErrUnidentified, an interlaced one ErrInterlaced.
// r is read again from the start of the image data by each pass.
func OpenPNG(r io.ReadSeeker, opts PNGOptions) (*PNG, error) {
	if opts.MaxWidth <= 0 {
		opts.MaxWidth = DefaultMaxPNGWidth
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	br := bufio.NewReader(r)
	var sig [8]byte
	if _, err := io.ReadFull(br, sig[:]); err != nil || !bytes.Equal(sig[:], pngMagic) {
		return nil, ErrUnidentified
	}
	p := &PNG{r: r, keepText: opts.Text}
	cr := &chunkReader{r: br, pos: 8}
	if err := p.readHeader(cr, opts.MaxWidth); err != nil {
		return nil, err
	}
	for {
		length, typ, err := cr.header()
		if err != nil {
			return nil, err
		}
		if typ == "IDAT" {
			p.idat = cr.pos - 8
			break
		}
		if err := p.ancillary(cr, typ, length); err != nil {
			return nil, err
		}
	}
	if p.ctype == ctPalette && p.palette == [256][4]byte{} {
		return nil, formatError("no PLTE chunk before the image data")
	}
	p.textBefore, p.textSizeBefore = len(p.text), p.textSize
	return p, nil
}

func formatError(msg string) error { return fmt.Errorf("png: %s", msg) }

// readHeader reads and checks IHDR.
func (p *PNG) readHeader(cr *chunkReader, maxWidth int) error {
	length, typ, err := cr.header()
	if err != nil {
		return err
	}
	if typ != "IHDR" || length != 13 {
		return formatError("no IHDR chunk first")
	}
	var b [13]byte
	if err := cr.body(b[:]); err != nil {
		return err
	}
	w, h := binary.BigEndian.Uint32(b[0:]), binary.BigEndian.Uint32(b[4:])
	if w == 0 || h == 0 || w > 1<<31-1 || h > 1<<31-1 {
		return formatError("invalid size")
	}
	p.w, p.h, p.depth, p.ctype = int(w), int(h), int(b[8]), b[9]
	if !validDepth(p.ctype, p.depth) {
		return formatError(fmt.Sprintf("bit depth %d with colour type %d", p.depth, p.ctype))
	}
	if b[10] != 0 || b[11] != 0 || b[12] > 1 {
		return formatError("unknown compression, filter or interlace method")
	}
	if p.w > maxWidth {
		return fmt.Errorf("%w: %d pixels wide, beyond %d", ErrTooLarge, p.w, maxWidth)
	}
	if b[12] == 1 {
		return ErrInterlaced
	}
	return nil
}

func validDepth(ctype byte, depth int) bool {
	switch ctype {
	case ctGray:
		return depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16
	case ctPalette:
		return depth == 1 || depth == 2 || depth == 4 || depth == 8
	case ctRGB, ctGrayAlpha, ctRGBA:
		return depth == 8 || depth == 16
	}
	return false
}

// ancillary reads one chunk other than IHDR and IDAT: PLTE and tRNS are
// kept, text chunks too when asked for, the rest is skipped.
func (p *PNG) ancillary(cr *chunkReader, typ string, length uint32) error {
	switch {
	case typ == "PLTE" && p.ctype != ctGray && p.ctype != ctGrayAlpha:
		if length%3 != 0 || length == 0 || length > 3*256 {
			return formatError("bad PLTE length")
		}
		b := make([]byte, length)
		if err := cr.body(b); err != nil {
			return err
		}
		for i := range p.palette {
			p.palette[i] = [4]byte{0, 0, 0, 0xff}
		}
		for i := range int(length / 3) {
			p.palette[i] = [4]byte{b[3*i], b[3*i+1], b[3*i+2], 0xff}
		}
		return nil
	case typ == "tRNS":
		return p.transparency(cr, length)
	case p.keepText && (typ == "tEXt" || typ == "zTXt" || typ == "iTXt"):
		return p.textChunk(cr, typ, length)
	}
	return cr.skip(length)
}

// transparency reads tRNS: alphas of palette entries, or the one grey or
// RGB colour that is transparent.
func (p *PNG) transparency(cr *chunkReader, length uint32) error {
	switch p.ctype {
	case ctPalette:
		if length > 256 {
			return formatError("bad tRNS length")
		}
		b := make([]byte, length)
		if err := cr.body(b); err != nil {
			return err
		}
		for i, a := range b {
			p.palette[i][3] = a
		}
		return nil
	case ctGray, ctRGB:
		want := uint32(2)
		if p.ctype == ctRGB {
			want = 6
		}
		if length != want {
			return formatError("bad tRNS length")
		}
		p.key = make([]byte, length)
		return cr.body(p.key)
	}
	return cr.skip(length) // an image with alpha has no use for it
}

// textChunk keeps one text chunk within the text limits; chunks past
// them are skipped, as PIL stops reading text it deems too large.
func (p *PNG) textChunk(cr *chunkReader, typ string, length uint32) error {
	if int(length) > maxTextTotal-p.textSize {
		return cr.skip(length)
	}
	b := make([]byte, length)
	if err := cr.body(b); err != nil {
		return err
	}
	t, ok, err := parseTextChunk(typ, b)
	if err != nil || !ok {
		return nil // PIL ignores a text chunk it cannot read
	}
	if p.textSize+len(t.Key)+len(t.Value) > maxTextTotal {
		return nil
	}
	p.textSize += len(t.Key) + len(t.Value)
	p.text = append(p.text, t)
	return nil
}

// Size is the width and height.
func (p *PNG) Size() (int, int) { return p.w, p.h }

// Alpha: colour type 6 is PIL's mode "RGBA". Grey with alpha is "LA", and
// a palette or colour key is transparency without an alpha band.
func (p *PNG) Alpha() bool { return p.ctype == ctRGBA }

// Text returns the text chunks (with PNGOptions.Text) in file order: those
// before the image data after OpenPNG, all of them once a pass has read
// the whole file.
func (p *PNG) Text() []TextChunk { return p.text }

// bitsPerPixel of the stored samples.
func (p *PNG) bitsPerPixel() int {
	channels := map[byte]int{ctGray: 1, ctRGB: 3, ctPalette: 1, ctGrayAlpha: 2, ctRGBA: 4}[p.ctype]
	return channels * p.depth
}

// Rows starts a pass at the image data.
func (p *PNG) Rows() (Rows, error) {
	if _, err := p.r.Seek(p.idat, io.SeekStart); err != nil {
		return nil, err
	}
	cr := &chunkReader{r: bufio.NewReader(p.r), pos: p.idat}
	length, typ, err := cr.header()
	if err != nil {
		return nil, err
	}
	if typ != "IDAT" {
		return nil, formatError("the image data moved")
	}
	cr.left = length
	p.text, p.textSize = p.text[:p.textBefore], p.textSizeBefore
	stride := (p.w*p.bitsPerPixel() + 7) / 8
	return &pngRows{p: p, cr: cr, bpp: max(1, p.bitsPerPixel()/8),
		cur: make([]byte, 1+stride), prev: make([]byte, 1+stride), out: make([]byte, 4*p.w)}, nil
}

// pngRows is one pass: scanlines inflated, unfiltered and converted one
// at a time.
type pngRows struct {
	p         *PNG
	cr        *chunkReader
	z         io.ReadCloser // the inflater, from the first row on
	bpp       int           // bytes a pixel for the filters (at least 1)
	cur, prev []byte        // filter byte and scanline
	out       []byte
	y         int
	ended     bool
}

func (r *pngRows) Next() ([]byte, error) {
	if r.y == r.p.h {
		if r.ended {
			return nil, io.EOF
		}
		r.ended = true
		if err := r.finish(); err != nil {
			return nil, err
		}
		return nil, io.EOF
	}
	if r.z == nil {
		z, err := zlib.NewReader(r.cr)
		if err != nil {
			return nil, fmt.Errorf("png: image data: %w", err)
		}
		r.z = z
	}
	if _, err := io.ReadFull(r.z, r.cur); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, errShortImage
		}
		return nil, fmt.Errorf("png: image data: %w", err)
	}
	if err := unfilter(r.cur[0], r.cur[1:], r.prev[1:], r.bpp); err != nil {
		return nil, err
	}
	r.p.convert(r.cur[1:], r.out)
	r.cur, r.prev = r.prev, r.cur
	r.y++
	return r.out, nil
}

// finish checks the end of the image data (the zlib checksum, no pixel
// data left over) and reads the chunks after it up to IEND.
func (r *pngRows) finish() error {
	var one [1]byte
	switch n, err := io.ReadFull(r.z, one[:]); {
	case n > 0:
		return errLongImage
	case !errors.Is(err, io.EOF):
		return fmt.Errorf("png: image data: %w", err)
	}
	if _, err := io.Copy(io.Discard, r.cr); err != nil {
		return err
	}
	length, typ := r.cr.nextLen, r.cr.nextType
	for typ != "IEND" {
		if typ == "IDAT" {
			return formatError("image data chunks are not consecutive")
		}
		var err error
		if r.p.keepText && (typ == "tEXt" || typ == "zTXt" || typ == "iTXt") {
			err = r.p.textChunk(r.cr, typ, length)
		} else {
			err = r.cr.skip(length)
		}
		if err != nil {
			return err
		}
		if length, typ, err = r.cr.header(); err != nil {
			return err
		}
	}
	return r.cr.skip(length)
}

func (r *pngRows) Close() error {
	if r.z != nil {
		return r.z.Close()
	}
	return nil
}

// unfilter reverses a scanline's filter in place; prev is the previous
// scanline, already unfiltered (zeros for the first).
func unfilter(f byte, cur, prev []byte, bpp int) error {
	switch f {
	case 0:
	case 1: // Sub
		for i := bpp; i < len(cur); i++ {
			cur[i] += cur[i-bpp]
		}
	case 2: // Up
		for i := range cur {
			cur[i] += prev[i]
		}
	case 3: // Average
		for i := range min(bpp, len(cur)) {
			cur[i] += prev[i] / 2
		}
		for i := bpp; i < len(cur); i++ {
			cur[i] += byte((int(cur[i-bpp]) + int(prev[i])) / 2)
		}
	case 4: // Paeth
		for i := range min(bpp, len(cur)) {
			cur[i] += prev[i]
		}
		for i := bpp; i < len(cur); i++ {
			cur[i] += paeth(cur[i-bpp], prev[i], prev[i-bpp])
		}
	default:
		return formatError(fmt.Sprintf("bad filter type %d", f))
	}
	return nil
}

func paeth(a, b, c byte) byte {
	p := int(a) + int(b) - int(c)
	pa, pb, pc := abs(p-int(a)), abs(p-int(b)), abs(p-int(c))
	switch {
	case pa <= pb && pa <= pc:
		return a
	case pb <= pc:
		return b
	}
	return c
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// chunkReader reads PNG chunks, checking each one's CRC. As an io.Reader
// it gives the image data across consecutive IDAT chunks, and io.EOF at
// the first chunk of another type, whose header it keeps.
type chunkReader struct {
	r        *bufio.Reader
	pos      int64 // file offset of the next byte
	crc      hash.Hash32
	left     uint32 // data bytes left in the current IDAT chunk
	dataDone bool
	nextLen  uint32 // the chunk after the image data
	nextType string
}

func (c *chunkReader) read(b []byte) error {
	n, err := io.ReadFull(c.r, b)
	c.pos += int64(n)
	if err != nil {
		return formatError("truncated file")
	}
	return nil
}

// header reads a chunk's length and type.
func (c *chunkReader) header() (uint32, string, error) {
	var b [8]byte
	if err := c.read(b[:]); err != nil {
		return 0, "", err
	}
	length := binary.BigEndian.Uint32(b[:4])
	if length > 1<<31-1 {
		return 0, "", formatError("bad chunk length")
	}
	c.crc = crc32.NewIEEE()
	c.crc.Write(b[4:])
	return length, string(b[4:]), nil
}

// body reads a whole chunk body into b and checks its CRC.
func (c *chunkReader) body(b []byte) error {
	if err := c.read(b); err != nil {
		return err
	}
	c.crc.Write(b)
	return c.checkCRC()
}

// skip passes over a chunk body of n bytes, checking its CRC.
func (c *chunkReader) skip(n uint32) error {
	m, err := io.CopyN(c.crc, c.r, int64(n))
	c.pos += m
	if err != nil {
		return formatError("truncated file")
	}
	return c.checkCRC()
}

func (c *chunkReader) checkCRC() error {
	var b [4]byte
	if err := c.read(b[:]); err != nil {
		return err
	}
	if binary.BigEndian.Uint32(b[:]) != c.crc.Sum32() {
		return formatError("bad CRC")
	}
	return nil
}

func (c *chunkReader) Read(p []byte) (int, error) {
	for c.left == 0 {
		if c.dataDone {
			return 0, io.EOF
		}
		if err := c.checkCRC(); err != nil {
			return 0, err
		}
		length, typ, err := c.header()
		if err != nil {
			return 0, err
		}
		if typ != "IDAT" {
			c.dataDone, c.nextLen, c.nextType = true, length, typ
			return 0, io.EOF
		}
		c.left = length
	}
	n, err := c.r.Read(p[:min(len(p), int(c.left))])
	c.pos += int64(n)
	c.left -= uint32(n)
	c.crc.Write(p[:n])
	if errors.Is(err, io.EOF) {
		err = formatError("truncated file")
	}
	return n, err
}
