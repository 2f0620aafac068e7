package events

import "time"

// state returns the job's state, creating it, and marks it recently active.
func (sh *shard) state(jobID string) *jobState {
	st, ok := sh.jobs[jobID]
	if !ok {
		st = &jobState{id: jobID}
		st.elem = sh.lru.PushFront(st)
		sh.jobs[jobID] = st
		return st
	}
	sh.lru.MoveToFront(st.elem)
	return st
}

func (sh *shard) remove(st *jobState) {
	sh.lru.Remove(st.elem)
	delete(sh.jobs, st.id)
}

// sweepBudget bounds the eviction work one Publish does, so publish cost
// stays flat however many jobs are waiting to be evicted.
const sweepBudget = 4

// sweep evicts from the least recently active end: finished jobs past their
// TTL, and any job beyond the shard's capacity. Jobs with subscribers stay
// (they are moved to the front so the sweep can look past them), and so does
// keep, the job being published to.
func (sh *shard) sweep(now time.Time, maxJobs int, ttl time.Duration, keep *jobState) {
	for range sweepBudget {
		el := sh.lru.Back()
		if el == nil {
			return
		}
		st := el.Value.(*jobState)
		if st == keep {
			return
		}
		expired := st.finished && now.Sub(st.finishedAt) >= ttl
		if !expired && sh.lru.Len() <= maxJobs {
			return
		}
		if len(st.subs) > 0 {
			sh.lru.MoveToFront(el)
			continue
		}
		sh.remove(st)
	}
}
