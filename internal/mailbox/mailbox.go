// Package mailbox is the queue that feeds one goroutine from producers that
// must never wait for it: the fleet's socket readers feed each run, and the
// ComfyUI-compatible surface's relay, through one. ComfyUI itself stalls
// when those readers lag, so Push never blocks; the queue grows instead,
// and past a bound only the items that decide an outcome are kept
// (progress and previews are droppable, an end or a cancel is not).
package mailbox

import "sync"

// Mailbox is a never-blocking, ordered queue with one consumer. Create it
// with New.
type Mailbox[T any] struct {
	max    int           // bound on the backlog of droppable items
	signal chan struct{} // cap 1: "items is not empty"

	mu     sync.Mutex // guards the fields below
	items  []T
	closed bool
}

// New returns an empty mailbox that drops a droppable item pushed while max
// items wait.
func New[T any](max int) *Mailbox[T] {
	return &Mailbox[T]{max: max, signal: make(chan struct{}, 1)}
}

// Push queues v and wakes the consumer. It reports false when v was not
// queued: the mailbox is closed, or v is droppable and the backlog full.
func (m *Mailbox[T]) Push(v T, droppable bool) bool {
	m.mu.Lock()
	if m.closed || droppable && len(m.items) >= m.max {
		m.mu.Unlock()
		return false
	}
	m.items = append(m.items, v)
	m.mu.Unlock()
	select {
	case m.signal <- struct{}{}:
	default:
	}
	return true
}

// Signal is ready when items may be waiting; the consumer then calls Take.
func (m *Mailbox[T]) Signal() <-chan struct{} { return m.signal }

// Take returns everything queued, in order, reusing buf's storage.
func (m *Mailbox[T]) Take(buf []T) []T {
	m.mu.Lock()
	defer m.mu.Unlock()
	buf = append(buf[:0], m.items...)
	clear(m.items)
	m.items = m.items[:0]
	return buf
}

// Close refuses further pushes and returns what was never taken, so the
// consumer that ends can answer whoever waits on those items.
func (m *Mailbox[T]) Close() []T {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	left := m.items
	m.items = nil
	return left
}
