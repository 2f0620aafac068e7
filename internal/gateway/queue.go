package gateway

import (
	"context"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/comfygate/comfygate/internal/job"
)

// queueTTL is how old the view of a long queue may grow before it is read
// again: a position or an admission check costs at most one long read a
// second, however many ask.
const queueTTL = time.Second

// shortQueue is the length below which the queue is read again for every
// question: reading a short queue costs less than a stale answer, and a
// fleet that keeps up has a short queue.
const shortQueue = 256

// queueView is the queue as the store's dispatch order has it (see "Queue
// position" in the package doc), read with QueueKeys: a sorted list of
// (priority, seq), sixteen bytes a job. A short queue is read for every
// question and its answers are exact; a long one at most once per
// queueTTL, with the jobs this replica accepted since kept beside it, so a
// submission counts the ones just before it. Jobs dispatched since the
// read still count until the next one: on a long queue, positions may be
// up to queueTTL old.
type queueView struct {
	store job.Store
	clock func() time.Time
	limit int // most keys read; the rest of a longer queue is counted exactly

	mu    sync.Mutex     // guards the fields below
	at    time.Time      // when keys were read; zero: never
	keys  []job.QueueKey // in dispatch order
	full  bool           // keys is the whole queue, not cut at limit
	added []job.QueueKey // accepted here since the read
}

func newQueueView(store job.Store, clock func() time.Time, limit int) *queueView {
	return &queueView{store: store, clock: clock, limit: job.QueueKeysLimit(limit)}
}

// fresh reads the queue again when it was short, or when the view is
// older than queueTTL. A failed read keeps the old view (and is tried
// again on the next call).
func (q *queueView) fresh(ctx context.Context) {
	if len(q.keys) >= shortQueue && q.clock().Sub(q.at) < queueTTL {
		return
	}
	keys, err := q.store.QueueKeys(ctx, q.limit)
	if err != nil {
		return
	}
	q.at, q.keys, q.full, q.added = q.clock(), keys, len(keys) < q.limit, nil
}

// ahead is the position a job at k has: the waiting jobs before it.
// exact is false when k lies beyond the part of the queue that was read;
// n is then only a lower bound.
func (q *queueView) ahead(ctx context.Context, k job.QueueKey) (n int, exact bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.fresh(ctx)
	return q.aheadLocked(k)
}

// admit is what a submission at priority p needs to know, from one read:
// how many jobs wait (the backlog admission compares with MaxQueued), and
// how many of them come before a job submitted now.
func (q *queueView) admit(ctx context.Context, p int) (depth, ahead int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.fresh(ctx)
	ahead, _ = q.aheadLocked(job.QueueKey{Priority: p, Seq: math.MaxInt64}) // after every job of its priority
	return len(q.keys) + len(q.added), ahead
}

func (q *queueView) aheadLocked(k job.QueueKey) (n int, exact bool) {
	n, _ = slices.BinarySearchFunc(q.keys, k, cmpKeys)
	exact = n < len(q.keys) || q.full
	for _, a := range q.added {
		if a.Before(k) {
			n++
		}
	}
	return n, exact
}

// accepted counts a job stored here into the view until the next read.
func (q *queueView) accepted(k job.QueueKey) {
	q.mu.Lock()
	q.added = append(q.added, k)
	q.mu.Unlock()
}

// cmpKeys orders keys as the dispatch order does.
func cmpKeys(a, b job.QueueKey) int {
	switch {
	case a == b:
		return 0
	case a.Before(b):
		return -1
	}
	return 1
}

// position is the queue position of a waiting job, nil for a job that is
// not waiting (or whose position the store cannot tell).
func (s *Service) position(ctx context.Context, j *job.Job) *int {
	if !j.State.Dispatchable() {
		return nil
	}
	n, exact := s.queue.ahead(ctx, job.QueueKey{Priority: j.Priority, Seq: j.Seq})
	if !exact {
		var err error
		if n, err = s.cfg.Store.QueuePosition(ctx, j.ID); err != nil {
			return nil
		}
	}
	return &n
}
