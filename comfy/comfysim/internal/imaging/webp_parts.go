package imaging

import (
	"container/heap"
	"image"
	"image/color"
)

// huffmanLengths returns the code lengths of a Huffman code for counts,
// none longer than limit. When the plain code is too deep, small counts
// are raised (doubling the floor each time) until it fits, as libwebp
// does; the result is always a complete code. Symbols with a zero count
// get length 0. At least two counts must be non-zero.
func huffmanLengths(counts []uint64, limit int) []uint8 {
	for floor := uint64(1); ; floor *= 2 {
		lengths, depth := huffmanTree(counts, floor)
		if depth <= limit {
			return lengths
		}
	}
}

type huffNode struct {
	weight      uint64
	symbol      int // -1 for an inner node
	left, right *huffNode
}

type huffHeap []*huffNode

func (h huffHeap) Len() int { return len(h) }
func (h huffHeap) Less(i, j int) bool {
	if h[i].weight != h[j].weight {
		return h[i].weight < h[j].weight
	}
	return h[i].symbol > h[j].symbol // deterministic ties
}
func (h huffHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *huffHeap) Push(x any)   { *h = append(*h, x.(*huffNode)) }
func (h *huffHeap) Pop() any {
	old := *h
	n := old[len(old)-1]
	*h = old[:len(old)-1]
	return n
}

// huffmanTree builds a Huffman tree over the non-zero counts, each raised
// to at least floor, and returns the leaves' depths and the deepest.
func huffmanTree(counts []uint64, floor uint64) ([]uint8, int) {
	h := &huffHeap{}
	for s, c := range counts {
		if c > 0 {
			*h = append(*h, &huffNode{weight: max(c, floor), symbol: s})
		}
	}
	heap.Init(h)
	for h.Len() > 1 {
		a := heap.Pop(h).(*huffNode)
		b := heap.Pop(h).(*huffNode)
		heap.Push(h, &huffNode{weight: a.weight + b.weight, symbol: -1, left: a, right: b})
	}
	lengths := make([]uint8, len(counts))
	deepest := 0
	var walk func(n *huffNode, d int)
	walk = func(n *huffNode, d int) {
		if n.symbol >= 0 {
			lengths[n.symbol] = uint8(min(d, 255))
			deepest = max(deepest, d)
			return
		}
		walk(n.left, d+1)
		walk(n.right, d+1)
	}
	walk((*h)[0], 0)
	return lengths, deepest
}

// rowReader yields an image's rows as ARGB words, reusing one buffer.
type rowReader struct {
	img    image.Image
	opaque bool
	buf    []uint32
}

func newRowReader(img image.Image, opaque bool) *rowReader {
	return &rowReader{img: img, opaque: opaque, buf: make([]uint32, img.Bounds().Dx())}
}

// row returns row y (0-based) of the image as non-premultiplied ARGB.
func (rr *rowReader) row(y int) []uint32 {
	b := rr.img.Bounds()
	y += b.Min.Y
	switch src := rr.img.(type) {
	case *image.NRGBA:
		p := src.Pix[src.PixOffset(b.Min.X, y):]
		for x := range rr.buf {
			rr.buf[x] = argb(p[4*x], p[4*x+1], p[4*x+2], p[4*x+3])
		}
	case *image.RGBA:
		p := src.Pix[src.PixOffset(b.Min.X, y):]
		for x := range rr.buf {
			r, g, bl, a := p[4*x], p[4*x+1], p[4*x+2], p[4*x+3]
			if a != 0xff { // premultiplied: undo it as color.NRGBAModel does
				c := color.NRGBAModel.Convert(color.RGBA{r, g, bl, a}).(color.NRGBA)
				r, g, bl = c.R, c.G, c.B
			}
			rr.buf[x] = argb(r, g, bl, a)
		}
	case *image.Gray:
		p := src.Pix[src.PixOffset(b.Min.X, y):]
		for x := range rr.buf {
			rr.buf[x] = argb(p[x], p[x], p[x], 0xff)
		}
	default:
		for x := range rr.buf {
			c := color.NRGBAModel.Convert(src.At(b.Min.X+x, y)).(color.NRGBA)
			rr.buf[x] = argb(c.R, c.G, c.B, c.A)
		}
	}
	if rr.opaque {
		for x := range rr.buf {
			rr.buf[x] |= 0xff << 24
		}
	}
	return rr.buf
}

func argb(r, g, b, a uint8) uint32 {
	return uint32(a)<<24 | uint32(r)<<16 | uint32(g)<<8 | uint32(b)
}
