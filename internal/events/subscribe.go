package events

import (
	"context"
	"errors"
	"fmt"
)

// Subscription is one stream of events. Read C until it is closed, then Err
// says why it ended.
type Subscription struct {
	hub  *Hub
	c    chan Event
	done chan struct{} // closed when the subscription ends, after err is set
	err  error
	stop func() bool // deregisters the ctx watcher

	jobID  string           // per-job subscription
	owner  string           // owner stream
	match  func(Event) bool // filter stream
	stream bool             // owner or filter stream

	// Guarded by the shard's mu (per-job) or streams.mu (streams).
	idx     int
	after   ID      // the last ID sent (or the resume point): live events at or before it are skipped
	live    bool    // C is fed by Publish; otherwise by the replay goroutine
	closed  bool    // ended; done is closed
	pending []Event // live events held back while replaying
	cancel  context.CancelFunc
	replay  chan struct{} // closed when the replay goroutine exits; nil if none
	watcher bool          // counted in Hub.watchers
}

// C delivers the events in order. It is closed when the subscription ends.
func (s *Subscription) C() <-chan Event { return s.c }

// Err is nil while the subscription runs and after a clean end (a terminal
// event, Close); otherwise it is why the subscription was ended:
// ErrSlowSubscriber, ErrGap, ErrHubClosed, the context's error, or a replay
// error.
func (s *Subscription) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// Close ends the subscription and waits until its replay, if any, stopped.
func (s *Subscription) Close() {
	s.hub.end(s, nil)
	if s.replay != nil {
		<-s.replay
	}
}

// end closes s with err under the lock that guards it.
func (h *Hub) end(s *Subscription, err error) {
	if s.stream {
		h.streams.mu.Lock()
		h.streams.closeLocked(s, err)
		h.streams.mu.Unlock()
		return
	}
	sh := h.shard(s.jobID)
	sh.mu.Lock()
	h.closeJobSubLocked(sh, s, err)
	sh.mu.Unlock()
}

// closeJobSubLocked ends a per-job subscription. C is closed here only when
// Publish feeds it; a replaying subscription's goroutine closes C itself,
// being its only sender.
func (h *Hub) closeJobSubLocked(sh *shard, s *Subscription, err error) {
	if s.closed {
		return
	}
	s.closed, s.err = true, err
	close(s.done)
	s.stop()
	if s.cancel != nil {
		s.cancel()
	}
	if s.watcher {
		s.watcher = false
		h.watchers.Add(-1)
	}
	if st := sh.jobs[s.jobID]; st != nil {
		st.removeSub(s)
		if st.empty() {
			sh.remove(st)
		}
	}
	s.pending = nil
	if s.live {
		close(s.c)
	}
}

// newSubscription sets up s; the fields end reads are set before the ctx
// watcher can fire.
func (h *Hub) newSubscription(ctx context.Context, jobID string, stream bool) *Subscription {
	s := &Subscription{
		hub:    h,
		c:      make(chan Event, h.opts.SubscriberBuffer),
		done:   make(chan struct{}),
		jobID:  jobID,
		stream: stream,
	}
	s.stop = context.AfterFunc(ctx, func() { h.end(s, context.Cause(ctx)) })
	return s
}

// Subscribe streams the job's events after the given ID (the zero ID for all
// of them): first the history — from the Replayer if the in-memory ring no
// longer reaches back that far, then from the ring — then live events, with
// no gap and no duplicate in between. It ends after a terminal event, or at
// once if the job already ended at or before after. The subscription ends
// with ctx.
func (h *Hub) Subscribe(ctx context.Context, jobID string, after ID) (*Subscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if jobID == "" {
		return nil, errors.New("events: subscribe: empty job id")
	}
	sh := h.shard(jobID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.closed {
		return nil, ErrHubClosed
	}
	st := sh.state(jobID)
	// Replay is needed from the store when the hub knows nothing of the job,
	// or when after is older than the oldest durable event in the ring.
	fromStore := h.opts.Replayer != nil && (!st.known || after.Seq < st.floor)
	if st.known && after.Seq < st.floor && h.opts.Replayer == nil {
		if st.empty() {
			sh.remove(st)
		}
		return nil, fmt.Errorf("subscribe job %s after %s: %w", jobID, after, ErrReplayUnavailable)
	}
	s := h.newSubscription(ctx, jobID, false)
	st.addSub(s)
	s.watcher = true
	h.watchers.Add(1)
	s.after = after
	if st.finished && !after.Less(st.terminal) {
		// The client has seen the end already. With no replay, s is live,
		// so closing it closes C.
		s.live = true
		h.closeJobSubLocked(sh, s, nil)
		return s, nil
	}
	snap := st.ring.after(after)
	if !fromStore && len(snap) <= cap(s.c) {
		h.deliverSnapshotLocked(sh, s, snap)
		return s, nil
	}
	h.startReplay(ctx, s, replayPlan{
		after:     after,
		fromStore: fromStore,
		known:     st.known,
		floor:     st.floor,
		snap:      snap,
	})
	return s, nil
}

// deliverSnapshotLocked is the fast path: history that fits in the buffer is
// sent right away and the subscription goes live with no goroutine.
func (h *Hub) deliverSnapshotLocked(sh *shard, s *Subscription, snap []Event) {
	s.live = true
	for _, e := range snap {
		s.c <- e // cannot block: len(snap) <= cap(s.c) and s.c is new
		s.after = e.ID()
		if h.opts.IsTerminal(e) {
			h.closeJobSubLocked(sh, s, nil)
			return
		}
	}
}
