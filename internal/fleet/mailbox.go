package fleet

import "sync"

// mailbox feeds one run's goroutine. The socket router must never block on a
// slow run (it serves every run of the backend, and ComfyUI itself waits on
// our reads), so push never blocks: the queue grows instead, and beyond
// maxMailbox only events that matter for the outcome are kept.
type mailbox struct {
	mu     sync.Mutex // guards items and closed
	items  []any
	closed bool
	signal chan struct{} // cap 1: "items is not empty"
}

// maxMailbox bounds the backlog of droppable events (progress, previews).
const maxMailbox = 4096

func newMailbox() *mailbox { return &mailbox{signal: make(chan struct{}, 1)} }

// push queues v and wakes the run. It reports false when the run is over
// (the mailbox is closed) or a droppable v was dropped.
func (m *mailbox) push(v any, droppable bool) bool {
	m.mu.Lock()
	if m.closed || droppable && len(m.items) >= maxMailbox {
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

// close refuses further pushes and returns what was never taken.
func (m *mailbox) close() []any {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	left := m.items
	m.items = nil
	return left
}

// take returns everything queued, in order, reusing buf's storage.
func (m *mailbox) take(buf []any) []any {
	m.mu.Lock()
	defer m.mu.Unlock()
	buf = append(buf[:0], m.items...)
	clear(m.items)
	m.items = m.items[:0]
	return buf
}
