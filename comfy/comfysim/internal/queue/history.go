package queue

// MaxHistory is ComfyUI's MAXIMUM_HISTORY_SIZE. The store holds up to one
// more entry than this, because ComfyUI checks the size before inserting.
const MaxHistory = 10000

// History is an insertion-ordered map from prompt id to entry with Python dict
// semantics: re-inserting an existing id replaces the value but keeps its
// position. It is not safe for concurrent use.
type History[T any] struct {
	max   int
	order []string
	byID  map[string]T
}

// NewHistory returns an empty store capped like ComfyUI (max <= 0 means
// MaxHistory).
func NewHistory[T any](max int) *History[T] {
	if max <= 0 {
		max = MaxHistory
	}
	return &History[T]{max: max, byID: make(map[string]T)}
}

// Len is the number of entries.
func (h *History[T]) Len() int { return len(h.order) }

// Put stores v under id, dropping the oldest entry first when the store is
// over its cap (PromptQueue.task_done).
func (h *History[T]) Put(id string, v T) {
	if len(h.order) > h.max {
		oldest := h.order[0]
		h.order = h.order[1:]
		delete(h.byID, oldest)
	}
	if _, ok := h.byID[id]; !ok {
		h.order = append(h.order, id)
	}
	h.byID[id] = v
}

// Get returns the entry for id.
func (h *History[T]) Get(id string) (T, bool) {
	v, ok := h.byID[id]
	return v, ok
}

// Delete removes id if present.
func (h *History[T]) Delete(id string) {
	if _, ok := h.byID[id]; !ok {
		return
	}
	delete(h.byID, id)
	for i, k := range h.order {
		if k == id {
			h.order = append(h.order[:i], h.order[i+1:]...)
			return
		}
	}
}

// Clear removes everything.
func (h *History[T]) Clear() {
	h.order = nil
	h.byID = make(map[string]T)
}

// Entry is one id/value pair returned by Page.
type Entry[T any] struct {
	ID    string
	Value T
}

// All returns every entry, oldest first.
func (h *History[T]) All() []Entry[T] {
	out := make([]Entry[T], len(h.order))
	for i, id := range h.order {
		out[i] = Entry[T]{ID: id, Value: h.byID[id]}
	}
	return out
}

// Page reproduces PromptQueue.get_history(max_items, offset) including its
// quirks: without offset (offset < 0) it returns the newest maxItems entries;
// the max_items check happens only after an entry was added, so
// max_items <= 0 with an offset still yields one entry. maxItems nil means no
// limit.
func (h *History[T]) Page(maxItems *int, offset int) []Entry[T] {
	if offset < 0 && maxItems != nil {
		offset = len(h.order) - *maxItems
	}
	var out []Entry[T]
	for i, id := range h.order {
		if i >= offset {
			out = append(out, Entry[T]{ID: id, Value: h.byID[id]})
			if maxItems != nil && len(out) >= *maxItems {
				break
			}
		}
	}
	return out
}
