package events

import (
	"context"
	"errors"
	"fmt"
)

// replayPlan is what Subscribe learned under the shard lock.
type replayPlan struct {
	after     ID
	fromStore bool    // read durable events from the Replayer first
	known     bool    // the ring holds every durable event after floor
	floor     int64   // with known: the store phase stops here
	snap      []Event // ring events after after, in order
}

// Internal outcomes of a replay step; neither escapes to callers.
var (
	errReplayDone   = errors.New("replay reached a terminal event")
	errReplayClosed = errors.New("subscription closed during replay")
)

// replayRun sends a subscription's history, then hands it over to Publish.
// It runs in its own goroutine, the only sender on s.c until s.live is set.
type replayRun struct {
	h    *Hub
	s    *Subscription
	ctx  context.Context // ends with the subscription
	last ID              // the greatest ID sent (or the resume point): nothing at or before it is sent again
}

func (h *Hub) startReplay(ctx context.Context, s *Subscription, p replayPlan) {
	ctx, cancel := context.WithCancel(ctx)
	s.cancel = cancel
	s.replay = make(chan struct{})
	h.replays.Add(1)
	go func() {
		defer h.replays.Done()
		defer close(s.replay)
		r := &replayRun{h: h, s: s, ctx: ctx, last: p.after}
		err := r.run(ctx, p)
		if err == nil {
			cancel() // live now: release the context, keep the ctx watcher
			return
		}
		if errors.Is(err, errReplayDone) {
			err = nil
		}
		r.finish(err)
	}()
}

// run returns nil once the subscription is live, otherwise why it ended.
func (r *replayRun) run(ctx context.Context, p replayPlan) error {
	if p.fromStore {
		if err := r.fromStore(ctx, p); err != nil {
			return err
		}
	}
	for _, e := range p.snap {
		if err := r.deliver(e); err != nil {
			return err
		}
	}
	return r.handOver()
}

// fromStore pages durable events out of the Replayer, up to where the ring
// takes over (p.floor) or, when the hub knows nothing of the job, to the end.
func (r *replayRun) fromStore(ctx context.Context, p replayPlan) error {
	from := p.after.Seq
	if !p.known && from > 0 {
		from-- // look back one: if it was the terminal event the job is over
	}
	size := r.h.opts.ReplayPageSize
	for {
		page, err := r.h.opts.Replayer.ListEvents(ctx, r.s.jobID, from, size)
		if err != nil {
			return fmt.Errorf("replay job %s after seq %d: %w", r.s.jobID, from, err)
		}
		start := from
		for _, e := range page {
			if e.Seq <= from {
				continue // not after from: the replayer broke its contract; skip
			}
			if p.known && e.Seq > p.floor {
				return nil // the ring has the rest
			}
			from = e.Seq
			e.JobID, e.Sub = r.s.jobID, 0
			if err := r.deliver(e); err != nil {
				return err
			}
		}
		switch {
		case len(page) < size, p.known && from >= p.floor:
			return nil
		case from == start:
			return fmt.Errorf("replay job %s after seq %d: replayer returned no newer event in a full page", r.s.jobID, from)
		}
	}
}

// deliver sends e unless the subscriber has it already, blocking until the
// subscriber reads it or the subscription ends.
func (r *replayRun) deliver(e Event) error {
	terminal := r.h.opts.IsTerminal(e)
	if !r.last.Less(e.ID()) {
		if terminal {
			return errReplayDone // the client saw the job end
		}
		return nil
	}
	select {
	case r.s.c <- e:
	case <-r.s.done:
		return errReplayClosed
	}
	r.last = e.ID()
	if terminal {
		return errReplayDone
	}
	return nil
}

// handOver drains what Publish held back while replaying, and switches the
// subscription to live delivery the moment nothing is held back, all under
// the shard lock: Publish either appended to pending before the switch or
// sends directly after it, so nothing falls in between.
func (r *replayRun) handOver() error {
	sh := r.h.shard(r.s.jobID)
	for {
		sh.mu.Lock()
		if r.s.closed {
			sh.mu.Unlock()
			return errReplayClosed
		}
		batch := r.s.pending
		r.s.pending = nil
		if len(batch) == 0 {
			r.s.live, r.s.after, r.s.cancel = true, r.last, nil
			sh.mu.Unlock()
			return nil
		}
		sh.mu.Unlock()
		for _, e := range batch {
			if err := r.fillGap(e); err != nil {
				return err
			}
			if err := r.deliver(e); err != nil {
				return err
			}
		}
	}
}

// fillGap reads from the store the durable events between the last one
// sent and e, when e does not follow it: events from other replicas come
// over separate connections, and one may arrive here late, or never.
func (r *replayRun) fillGap(e Event) error {
	if !e.Durable() || e.Seq <= r.last.Seq+1 || r.h.opts.Replayer == nil {
		return nil
	}
	return r.fromStore(r.ctx, replayPlan{after: r.last, fromStore: true, known: true, floor: e.Seq - 1})
}

// finish ends a subscription whose replay did not go live, then closes C:
// with s.live unset, nothing else sends on it.
func (r *replayRun) finish(err error) {
	r.h.end(r.s, err)
	close(r.s.c)
}
