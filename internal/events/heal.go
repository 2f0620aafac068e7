package events

import "context"

// healLocked makes the job's subscriptions fetch from the store what the
// hub missed: a live one goes back to replaying after the last event it
// sent; one still replaying sees the gap in what it holds back and reads
// the store before going live (replayRun.fillGap). Without a Replayer
// they end with ErrGap, for their clients to resume.
func (h *Hub) healLocked(sh *shard, st *jobState) {
	for i := len(st.subs) - 1; i >= 0; i-- {
		s := st.subs[i]
		switch {
		case h.opts.Replayer == nil:
			h.closeJobSubLocked(sh, s, ErrGap)
		case s.live:
			s.live = false
			// The subscription's own context ends it (and so this replay)
			// through its watcher; closeJobSubLocked cancels the replay.
			h.startReplay(context.Background(), s, replayPlan{after: s.after, fromStore: true})
		}
	}
}

// Resync is called when events from other replicas may have been lost
// (the connection that brings them broke): no ring can vouch for what it
// holds any more, so every job's subscriptions heal from the store and
// later subscriptions replay from it; streams of many jobs, which have no
// store to heal from, end with ErrGap.
func (h *Hub) Resync() {
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.Lock()
		if !sh.closed {
			for _, st := range sh.jobs {
				st.known = false
				h.healLocked(sh, st)
			}
		}
		sh.mu.Unlock()
	}
	h.streams.endAll(h, ErrGap)
}
