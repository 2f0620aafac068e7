package fleet

import (
	"context"
	"sync"
)

// busyTracker counts runs in the middle of bookkeeping that must not be cut
// short (a claim whose POST is in flight, outputs being copied), so Stop can
// wait for them before cancelling. Unlike a WaitGroup, enter may be called
// while wait is in progress.
type busyTracker struct {
	mu   sync.Mutex // guards the fields below
	n    int
	idle chan struct{} // closed when n drops to 0
}

func (t *busyTracker) enter() {
	t.mu.Lock()
	if t.n == 0 {
		t.idle = make(chan struct{})
	}
	t.n++
	t.mu.Unlock()
}

func (t *busyTracker) leave() {
	t.mu.Lock()
	t.n--
	if t.n == 0 {
		close(t.idle)
	}
	t.mu.Unlock()
}

// wait returns when nothing is busy, or with ctx's error.
func (t *busyTracker) wait(ctx context.Context) error {
	t.mu.Lock()
	if t.n == 0 {
		t.mu.Unlock()
		return nil
	}
	idle := t.idle
	t.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
