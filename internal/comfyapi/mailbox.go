package comfyapi

import "sync"

// mailbox feeds the relay loop. push never blocks (the fleet's socket
// readers call it, and ComfyUI stalls when they lag): the queue grows
// instead, and beyond maxMailbox only messages that decide what a client
// sees at the end are kept.
type mailbox struct {
	mu     sync.Mutex // guards items
	items  []any
	signal chan struct{} // cap 1: "items is not empty"
}

// maxMailbox bounds the backlog of droppable items (progress, previews).
const maxMailbox = 1 << 16

func newMailbox() *mailbox { return &mailbox{signal: make(chan struct{}, 1)} }

// push queues v and wakes the loop; it reports false when a droppable v
// was dropped.
func (m *mailbox) push(v any, droppable bool) bool {
	m.mu.Lock()
	if droppable && len(m.items) >= maxMailbox {
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

// take returns everything queued, in order, reusing buf's storage.
func (m *mailbox) take(buf []any) []any {
	m.mu.Lock()
	defer m.mu.Unlock()
	buf = append(buf[:0], m.items...)
	clear(m.items)
	m.items = m.items[:0]
	return buf
}
