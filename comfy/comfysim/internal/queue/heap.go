// Package queue holds the simulator's pending-prompt heap and its history
// store, both written to behave exactly like ComfyUI's PromptQueue.
//
// ComfyUI keeps pending prompts in a Python heapq list and returns that list,
// unsorted, from GET /queue; clients see the raw heap order. Go's
// container/heap uses different sift algorithms, so the order it leaves
// behind differs. Heap here re-implements heapq's push, pop and heapify so
// that the simulator's /queue matches a real server's byte for byte.
package queue

// Item is one queued prompt. Only Number and PromptID take part in ordering;
// Value carries whatever the caller needs.
type Item[T any] struct {
	// Number is the priority: lower runs first.
	Number float64
	// PromptID breaks ties, compared as strings like Python does.
	PromptID string
	Value    T
}

func less[T any](a, b Item[T]) bool {
	if a.Number != b.Number {
		return a.Number < b.Number
	}
	return a.PromptID < b.PromptID
}

// Heap is a min-heap with Python heapq's exact layout after every operation.
// It is not safe for concurrent use.
type Heap[T any] struct {
	items []Item[T]
}

// Len is the number of items.
func (h *Heap[T]) Len() int { return len(h.items) }

// Items returns a copy of the heap in its internal (heap) order, which is what
// ComfyUI's GET /queue shows.
func (h *Heap[T]) Items() []Item[T] {
	out := make([]Item[T], len(h.items))
	copy(out, h.items)
	return out
}

// Push is heapq.heappush.
func (h *Heap[T]) Push(it Item[T]) {
	h.items = append(h.items, it)
	h.siftDown(0, len(h.items)-1)
}

// Pop is heapq.heappop; ok is false when the heap is empty.
func (h *Heap[T]) Pop() (it Item[T], ok bool) {
	n := len(h.items)
	if n == 0 {
		return it, false
	}
	last := h.items[n-1]
	var zero Item[T]
	h.items[n-1] = zero
	h.items = h.items[:n-1]
	if len(h.items) == 0 {
		return last, true
	}
	ret := h.items[0]
	h.items[0] = last
	h.siftUp(0)
	return ret, true
}

// Clear removes everything.
func (h *Heap[T]) Clear() { h.items = nil }

// DeleteFirst removes the first item (in heap order) for which match is true,
// then re-heapifies, as PromptQueue.delete_queue_item does. It reports
// whether an item was removed and whether the heap became empty through the
// removal of its last element (ComfyUI then "wipes" the queue, which sends one
// extra status message).
func (h *Heap[T]) DeleteFirst(match func(Item[T]) bool) (removed, wiped bool) {
	for i, it := range h.items {
		if !match(it) {
			continue
		}
		if len(h.items) == 1 {
			h.items = nil
			return true, true
		}
		h.items = append(h.items[:i], h.items[i+1:]...)
		h.heapify()
		return true, false
	}
	return false, false
}

// heapify is heapq.heapify.
func (h *Heap[T]) heapify() {
	for i := len(h.items)/2 - 1; i >= 0; i-- {
		h.siftUp(i)
	}
}

// siftDown is heapq._siftdown: move the item at pos up towards startpos.
func (h *Heap[T]) siftDown(startpos, pos int) {
	newitem := h.items[pos]
	for pos > startpos {
		parentpos := (pos - 1) >> 1
		parent := h.items[parentpos]
		if !less(newitem, parent) {
			break
		}
		h.items[pos] = parent
		pos = parentpos
	}
	h.items[pos] = newitem
}

// siftUp is heapq._siftup: bubble the smaller child up to the leaf, then
// siftDown the original item into place.
func (h *Heap[T]) siftUp(pos int) {
	endpos := len(h.items)
	startpos := pos
	newitem := h.items[pos]
	childpos := 2*pos + 1
	for childpos < endpos {
		rightpos := childpos + 1
		if rightpos < endpos && !less(h.items[childpos], h.items[rightpos]) {
			childpos = rightpos
		}
		h.items[pos] = h.items[childpos]
		pos = childpos
		childpos = 2*pos + 1
	}
	h.items[pos] = newitem
	h.siftDown(startpos, pos)
}
