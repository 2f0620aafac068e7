package fleet

// Placement picks the backend a job binds to, among those with a free slot
// right now. It is a pure function of the backends' atomics and immutable
// capability snapshots, so the scheduler calls it without locks.
//
// Order of preference, best first:
//  1. able: accepting work (healthy, not draining), a free slot, and every
//     node class and model file the graph names;
//  2. idle over busy: a job put behind a running one in a busy backend's
//     prefetch slot waits a whole run, while an idle backend starts it now.
//     (With real checkpoints a cold load can cost seconds, but so can a run;
//     we pick the certain win. Warmth still decides among idle backends and
//     among busy ones.)
//  3. warm: the backend that last ran this graph's source nodes (ComfyUI's
//     cache holds their outputs) scores above one that last ran the same
//     model files (loaded in VRAM), above a cold one;
//  4. fewer jobs in flight, then least recently given a job (spreads load).

// warmth scores how much of req a backend that last ran (model, prefix)
// still holds.
func warmth(req *Requirements, lastModel, lastPrefix string) int {
	if req == nil {
		return 0
	}
	score := 0
	if req.PrefixKey != "" && req.PrefixKey == lastPrefix {
		score += 2
	}
	if req.ModelKey != "" && req.ModelKey == lastModel {
		score++
	}
	return score
}

// placeScore is a backend's rank for one candidate; compare with better.
type placeScore struct {
	idle     bool
	warm     int
	inflight int
	lastUsed int64
}

func (a placeScore) better(b placeScore) bool {
	switch {
	case a.idle != b.idle:
		return a.idle
	case a.warm != b.warm:
		return a.warm > b.warm
	case a.inflight != b.inflight:
		return a.inflight < b.inflight
	}
	return a.lastUsed < b.lastUsed
}

// place returns the best backend for c among backends, or nil when none can
// take it now. It does not reserve the slot.
func place(c *Candidate, backends []*Backend) *Backend {
	var best *Backend
	var bestScore placeScore
	for _, b := range backends {
		if !b.accepting() || !b.hasFreeSlot() || !b.canRun(c.Req) {
			continue
		}
		s := b.score(c.Req)
		if best == nil || s.better(bestScore) {
			best, bestScore = b, s
		}
	}
	return best
}

// checkRunnable returns nil when at least one backend with a known catalog
// can run req, or when no catalog is known yet (nothing to judge by);
// otherwise the error of a backend that got furthest (a missing model is
// more specific than a missing class).
func checkRunnable(req *Requirements, backends []*Backend) error {
	var firstErr error
	known := false
	for _, b := range backends {
		caps := b.caps.Load()
		if caps == nil {
			continue
		}
		known = true
		err := caps.check(req)
		if err == nil {
			return nil
		}
		if firstErr == nil || modelErr(err) && !modelErr(firstErr) {
			firstErr = err
		}
	}
	if !known {
		return nil
	}
	return firstErr
}

// modelErr reports whether err is about a model file rather than a node
// class: a backend that has the classes but not the model got further.
func modelErr(err error) bool {
	u, ok := err.(*UnrunnableError)
	return ok && u.Model != nil
}
