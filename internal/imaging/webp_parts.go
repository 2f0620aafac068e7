package imaging

import "container/heap"

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
