// Package groupcommit runs the work of concurrent callers in batches, one
// batch at a time: writes that arrive while a commit is in progress are
// committed together, so a store pays one commit (and one fsync) for many
// writes instead of one each.
//
// There is no goroutine of its own. The caller that finds the batcher idle
// becomes the leader and runs its own item at once (no goroutine switch on
// an idle store); callers that arrive meanwhile queue up, and when the
// leader's batch is done it hands the lead to the first of them, which runs
// the whole queue as the next batch.
package groupcommit

import (
	"errors"
	"sync"
)

// ErrClosed is returned by Do once Close was called.
var ErrClosed = errors.New("groupcommit: closed")

// Batcher batches items of type T and runs each batch with its run func.
type Batcher[T any] struct {
	run func(batch []T) []error
	max int

	mu      sync.Mutex // guards the fields below
	queue   []*item[T] // waiting for the next batch
	leading bool       // some caller is running a batch or about to
	closed  bool       // Close was called: take no new items
	idle    *sync.Cond // signalled when leading becomes false
}

type item[T any] struct {
	v    T
	done chan result // buffered: the answer, or the lead
}

// result answers an item: its error, or lead == true to make its caller
// the next leader.
type result struct {
	err  error
	lead bool
}

// New returns a batcher whose batches hold at most maxBatch items (at least
// one). run commits one batch and returns one error per item, in order;
// it must not panic.
func New[T any](maxBatch int, run func(batch []T) []error) *Batcher[T] {
	b := &Batcher[T]{run: run, max: max(maxBatch, 1)}
	b.idle = sync.NewCond(&b.mu)
	return b
}

// Do runs v in the next batch and returns its error once that batch is
// done. Once queued, an item runs: there is no way to take it back.
func (b *Batcher[T]) Do(v T) error {
	it := &item[T]{v: v, done: make(chan result, 1)}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return ErrClosed
	}
	b.queue = append(b.queue, it)
	if b.leading {
		b.mu.Unlock()
		r := <-it.done
		if !r.lead {
			return r.err
		}
		b.mu.Lock() // we lead now; our item heads the queue
	}
	b.leading = true
	b.lead()
	return (<-it.done).err
}

// lead runs one batch from the queue, then passes the lead to the next
// queued caller or, with the queue empty, steps down. It is called with
// b.mu held and returns with it released.
func (b *Batcher[T]) lead() {
	n := min(len(b.queue), b.max)
	batch := b.queue[:n:n]
	b.queue = b.queue[n:]
	b.mu.Unlock()

	vs := make([]T, n)
	for i, it := range batch {
		vs[i] = it.v
	}
	errs := b.run(vs)
	for i, it := range batch {
		var err error
		if i < len(errs) {
			err = errs[i]
		}
		it.done <- result{err: err}
	}

	b.mu.Lock()
	if len(b.queue) > 0 {
		b.queue[0].done <- result{lead: true}
	} else {
		b.leading = false
		b.idle.Broadcast()
	}
	b.mu.Unlock()
}

// Close stops taking items and waits until the queued ones have run.
func (b *Batcher[T]) Close() {
	b.mu.Lock()
	b.closed = true
	for b.leading {
		b.idle.Wait()
	}
	b.mu.Unlock()
}
