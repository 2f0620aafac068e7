// Package lifecycle gives comfygate's long-lived components (the fleet, the
// ComfyUI-compatible surface, the server) one Start/Stop discipline, so
// that each does not keep its own copy of the same flags and locks:
//
//   - Start runs once. Another call, while the component runs or after it
//     stopped, changes nothing and returns ErrStarted: a component has one
//     life. A start that fails leaves the component unstarted.
//   - Stop is harmless before Start (it returns nil and does nothing), and
//     runs once: later and concurrent calls wait for the first one and
//     return its result.
//   - The component's lifetime context, derived from Start's, lives until
//     Stop has run (or Cancel), and is readable without a lock.
package lifecycle

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// ErrStarted is returned by Start when the component has been started
// before.
var ErrStarted = errors.New("already started")

// Lifecycle guards the Start and Stop of one component. The zero value is
// ready to use; it must not be copied after first use.
type Lifecycle struct {
	mu      sync.Mutex // held while a start function runs; guards the fields below
	phase   phase
	done    chan struct{} // closed when the first Stop has finished
	stopErr error         // the first Stop's result

	life atomic.Pointer[lifetime] // nil before Start and after a failed one
}

type phase int

const (
	idle phase = iota
	running
	stopping // Stop's function is running
	stopped
)

type lifetime struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// Start runs start with the component's lifetime context, a child of ctx
// (pass context.WithoutCancel(ctx) when the component must outlive the
// caller's ctx). Concurrent Starts and Stops wait for start to return. If
// start fails, the lifetime context is cancelled and the component stays
// unstarted; its error is returned unchanged.
func (l *Lifecycle) Start(ctx context.Context, start func(ctx context.Context) error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.phase != idle {
		return ErrStarted
	}
	lctx, cancel := context.WithCancel(ctx)
	l.life.Store(&lifetime{ctx: lctx, cancel: cancel})
	if err := start(lctx); err != nil {
		cancel()
		l.life.Store(nil)
		return err
	}
	l.phase = running
	return nil
}

// Stop runs stop once, then cancels the lifetime context. Before Start it
// does nothing and returns nil. A call while or after another Stop runs
// waits for it, up to ctx's end, and returns its result.
func (l *Lifecycle) Stop(ctx context.Context, stop func(ctx context.Context) error) error {
	l.mu.Lock()
	switch l.phase {
	case idle:
		l.mu.Unlock()
		return nil
	case stopping, stopped:
		done := l.done
		l.mu.Unlock()
		select {
		case <-done:
			return l.result()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	l.phase, l.done = stopping, make(chan struct{})
	l.mu.Unlock()

	err := stop(ctx)
	l.Cancel()

	l.mu.Lock()
	defer l.mu.Unlock()
	l.phase, l.stopErr = stopped, err
	close(l.done)
	return err
}

func (l *Lifecycle) result() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stopErr
}

// Context returns the lifetime context: nil before Start (and after a
// failed one), cancelled once Stop has run. It never blocks, so it is safe
// to call from anything a start function waits for.
func (l *Lifecycle) Context() context.Context {
	if lt := l.life.Load(); lt != nil {
		return lt.ctx
	}
	return nil
}

// Cancel cancels the lifetime context now, for a Stop that ends its
// component's goroutines part of the way through. It is a no-op before
// Start.
func (l *Lifecycle) Cancel() {
	if lt := l.life.Load(); lt != nil {
		lt.cancel()
	}
}
