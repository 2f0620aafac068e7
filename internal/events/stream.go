package events

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// streams holds the subscriptions that follow many jobs at once: all jobs of
// one owner (a user's dashboard), or all events a filter matches (an admin
// view). They are live only: no replay, no end on terminal events.
type streams struct {
	mu      sync.Mutex // guards the fields below and the Subscription fields they reach
	byOwner map[string][]*Subscription
	funcs   []*Subscription
	closed  bool
	n       atomic.Int64 // open streams; lets Publish skip the lock when there are none
}

// SubscribeAll streams the live events of every job of owner.
func (h *Hub) SubscribeAll(ctx context.Context, owner string) (*Subscription, error) {
	return h.subscribeStream(ctx, owner, nil)
}

// SubscribeFunc streams the live events match accepts. Publish calls match
// under a lock for every event, so it must be fast and must not call the hub.
func (h *Hub) SubscribeFunc(ctx context.Context, match func(Event) bool) (*Subscription, error) {
	if match == nil {
		return nil, errors.New("events: subscribe: nil match func")
	}
	return h.subscribeStream(ctx, "", match)
}

func (h *Hub) subscribeStream(ctx context.Context, owner string, match func(Event) bool) (*Subscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ss := &h.streams
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.closed {
		return nil, ErrHubClosed
	}
	s := h.newSubscription(ctx, "", true)
	s.owner, s.match, s.live = owner, match, true
	if match != nil {
		s.idx = len(ss.funcs)
		ss.funcs = append(ss.funcs, s)
	} else {
		list := ss.byOwner[owner]
		s.idx = len(list)
		ss.byOwner[owner] = append(list, s)
		s.watcher = true
		h.watchers.Add(1)
	}
	ss.n.Add(1)
	return s, nil
}

// publish sends e to the matching streams. Called under the job's shard lock,
// so each job's events reach a stream in order.
func (ss *streams) publish(h *Hub, e Event) {
	if ss.n.Load() == 0 {
		return
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	owned := ss.byOwner[e.Owner]
	for i := len(owned) - 1; i >= 0; i-- {
		ss.send(h, owned[i], e)
	}
	for i := len(ss.funcs) - 1; i >= 0; i-- {
		if s := ss.funcs[i]; s.match(e) {
			ss.send(h, s, e)
		}
	}
}

func (ss *streams) send(h *Hub, s *Subscription, e Event) {
	select {
	case s.c <- e:
	default:
		h.dropped.Add(1)
		ss.closeLocked(s, ErrSlowSubscriber)
	}
}

func (ss *streams) closeLocked(s *Subscription, err error) {
	if s.closed {
		return
	}
	s.closed, s.err = true, err
	close(s.done)
	s.stop()
	close(s.c)
	ss.n.Add(-1)
	if s.watcher {
		s.watcher = false
		s.hub.watchers.Add(-1)
	}
	if s.match != nil {
		ss.funcs = removeAt(ss.funcs, s.idx)
		return
	}
	list := removeAt(ss.byOwner[s.owner], s.idx)
	if len(list) == 0 {
		delete(ss.byOwner, s.owner)
	} else {
		ss.byOwner[s.owner] = list
	}
}

// removeAt swap-removes list[i], keeping each subscription's idx right.
func removeAt(list []*Subscription, i int) []*Subscription {
	last := len(list) - 1
	list[i] = list[last]
	list[i].idx = i
	list[last] = nil
	return list[:last]
}

func (ss *streams) closeAll(h *Hub) {
	ss.mu.Lock()
	ss.closed = true
	ss.mu.Unlock()
	ss.endAll(h, ErrHubClosed)
}

// endAll ends every stream with err.
func (ss *streams) endAll(_ *Hub, err error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for len(ss.funcs) > 0 {
		ss.closeLocked(ss.funcs[len(ss.funcs)-1], err)
	}
	for owner := range ss.byOwner {
		for list := ss.byOwner[owner]; len(list) > 0; list = ss.byOwner[owner] {
			ss.closeLocked(list[len(list)-1], err)
		}
	}
}

// wants reports whether a stream may take e.
func (ss *streams) wants(e Event) bool {
	if ss.n.Load() == 0 {
		return false
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if len(ss.byOwner[e.Owner]) > 0 {
		return true
	}
	for _, s := range ss.funcs {
		if s.match(e) {
			return true
		}
	}
	return false
}

func (ss *streams) count() int { return int(ss.n.Load()) }
