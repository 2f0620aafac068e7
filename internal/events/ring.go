package events

import (
	"container/list"
	"time"
)

// ring is a bounded FIFO of a job's recent events, oldest first.
type ring struct {
	buf   []Event // grows on demand up to the ring size, then wraps
	head  int     // index of the oldest event
	n     int
	bytes int // Data bytes held
}

func (r *ring) at(i int) *Event { return &r.buf[(r.head+i)%len(r.buf)] }

func (r *ring) popFront() Event {
	e := *r.at(0)
	*r.at(0) = Event{} // let Data be collected
	r.head = (r.head + 1) % len(r.buf)
	r.n--
	r.bytes -= len(e.Data)
	return e
}

func (r *ring) pushBack(e Event, size int) {
	if r.n == len(r.buf) && len(r.buf) < size {
		r.grow(size)
	}
	*r.at(r.n) = e
	r.n++
	r.bytes += len(e.Data)
}

func (r *ring) grow(size int) {
	buf := make([]Event, min(size, max(8, 2*len(r.buf))))
	for i := range r.n {
		buf[i] = *r.at(i)
	}
	r.buf, r.head = buf, 0
}

func (r *ring) clear() { *r = ring{} }

// after copies the events sorting after id.
func (r *ring) after(id ID) []Event {
	var out []Event
	for i := range r.n {
		if e := r.at(i); id.Less(e.ID()) {
			out = append(out, *e)
		}
	}
	return out
}

// jobState is what the hub knows about one job. Guarded by its shard's mu.
type jobState struct {
	id   string
	elem *list.Element
	ring ring

	// known: a durable event has been seen, so the ring holds every durable
	// event with Seq > floor. Until then the hub knows nothing of the job's
	// history and resumes ask the Replayer.
	known       bool
	floor       int64
	lastDurable int64
	last        ID // the greatest ID accepted, for stamping ephemeral events

	subs []*Subscription // per-job subscriptions, each knowing its index

	finished   bool
	finishedAt time.Time
	terminal   ID
}

type verdict int

const (
	verdictDeliver verdict = iota
	verdictDrop            // duplicate durable event
	verdictGap             // durable event after a gap: subscribers must resync
)

// accept stamps an ephemeral event or checks a durable one against what the
// job has seen, keeping the ring sorted and contiguous.
func (st *jobState) accept(e Event) (Event, verdict) {
	if !e.Durable() {
		seq := max(e.Seq, st.last.Seq)
		e.Seq, e.Sub = seq, 1
		if seq == st.last.Seq {
			e.Sub = st.last.Sub + 1
		}
		st.last = e.ID()
		return e, verdictDeliver
	}
	if st.known && e.Seq <= st.lastDurable {
		return e, verdictDrop
	}
	v := verdictDeliver
	if st.known && e.Seq > st.lastDurable+1 {
		v = verdictGap
	}
	if v == verdictGap || !st.known || !st.last.Less(e.ID()) {
		// The ring restarts here: it cannot vouch for anything before e.
		st.ring.clear()
		st.floor = e.Seq - 1
	}
	st.known, st.lastDurable = true, e.Seq
	if st.last.Less(e.ID()) {
		st.last = e.ID()
	}
	return e, v
}

// push appends e, evicting the oldest events beyond the bounds. Evicting a
// durable event raises floor: from then on resumes before it need the store.
func (st *jobState) push(e Event, maxLen, maxBytes int) {
	e.Job = nil // see Event.Job
	r := &st.ring
	for r.n > 0 && (r.n >= maxLen || r.bytes+len(e.Data) > maxBytes) {
		if old := r.popFront(); old.Durable() {
			st.floor = old.Seq
		}
	}
	r.pushBack(e, maxLen)
}

func (st *jobState) finish(id ID, now time.Time) {
	if !st.finished {
		st.finished, st.finishedAt, st.terminal = true, now, id
	}
}

func (st *jobState) addSub(s *Subscription) {
	s.idx = len(st.subs)
	st.subs = append(st.subs, s)
}

func (st *jobState) removeSub(s *Subscription) {
	if s.idx < len(st.subs) && st.subs[s.idx] == s {
		st.subs = removeAt(st.subs, s.idx)
	}
}

// empty reports whether the state holds nothing worth keeping.
func (st *jobState) empty() bool {
	return len(st.subs) == 0 && st.ring.n == 0 && !st.known && !st.finished
}
