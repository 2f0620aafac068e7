package fleet

import (
	"slices"
)

// Candidate is a dispatchable job as the queue view sees it: enough to order
// and place it without touching the store.
type Candidate struct {
	ID       string
	Owner    string
	Priority int
	// Seq is the store's insertion order: FIFO within an owner.
	Seq int64
	// Req is what a backend needs to run the job; nil means "anything".
	Req *Requirements
}

// Policy orders dispatchable jobs. The scheduler calls it under its own lock,
// so implementations need not be safe for concurrent use.
//
// Pop, not Peek, is the primitive because fairness state (whose turn it is)
// must advance exactly when a job is really handed out: accept runs placement
// and returns true only when a backend slot was found for the candidate.
type Policy interface {
	// Push adds c, or replaces the candidate with the same ID.
	Push(c *Candidate)
	// Remove drops the candidate with id and reports whether it was there.
	Remove(id string) bool
	// Pop returns and removes the first candidate in policy order that accept
	// takes, or nil.
	Pop(accept func(*Candidate) bool) *Candidate
	// Position estimates how many candidates would be handed out before id if
	// nothing else arrived (0 = next).
	Position(id string) (int, bool)
	// Has reports whether id is queued.
	Has(id string) bool
	// Len is the number of queued candidates.
	Len() int
	// IDs lists the queued candidates' ids, in no particular order.
	IDs() []string
}

// scanLimit bounds how deep Pop looks into one owner's backlog for a job
// that fits a free backend. It keeps a round O(owners) even when the head of
// a long backlog needs a model no free backend has; such jobs still run as
// soon as a capable backend frees up.
const scanLimit = 32

// FairPolicy is the default Policy: priority descending; within a priority,
// owners take turns (round-robin), so one caller's thousand jobs do not
// starve another caller's one; within an owner, FIFO by Seq.
type FairPolicy struct {
	levels []*level // priority descending
	byID   map[string]*Candidate
}

// level holds the owners with jobs at one priority.
type level struct {
	priority int
	ring     []*ownerQueue // turn order
	next     int           // index in ring whose turn it is
	byOwner  map[string]*ownerQueue
}

type ownerQueue struct {
	owner string
	jobs  []*Candidate // Seq ascending
}

// NewFairPolicy returns an empty FairPolicy.
func NewFairPolicy() *FairPolicy {
	return &FairPolicy{byID: make(map[string]*Candidate)}
}

// Len implements Policy.
func (p *FairPolicy) Len() int { return len(p.byID) }

// Has implements Policy.
func (p *FairPolicy) Has(id string) bool { _, ok := p.byID[id]; return ok }

// IDs implements Policy.
func (p *FairPolicy) IDs() []string { return sortedKeys(p.byID) }

// Push implements Policy.
func (p *FairPolicy) Push(c *Candidate) {
	if old, ok := p.byID[c.ID]; ok {
		if old.Priority == c.Priority && old.Owner == c.Owner && old.Seq == c.Seq {
			*old = *c // same slot; only requirements may differ
			return
		}
		p.Remove(c.ID)
	}
	p.byID[c.ID] = c
	q := p.level(c.Priority).owner(c.Owner)
	i, _ := slices.BinarySearchFunc(q.jobs, c, func(a, b *Candidate) int { return cmpSeq(a, b) })
	q.jobs = slices.Insert(q.jobs, i, c)
}

func cmpSeq(a, b *Candidate) int {
	switch {
	case a.Seq < b.Seq:
		return -1
	case a.Seq > b.Seq:
		return 1
	case a.ID < b.ID:
		return -1
	case a.ID > b.ID:
		return 1
	}
	return 0
}

// level returns the level for priority, creating it in order.
func (p *FairPolicy) level(priority int) *level {
	i, found := slices.BinarySearchFunc(p.levels, priority, func(l *level, pr int) int {
		return pr - l.priority // descending
	})
	if !found {
		p.levels = slices.Insert(p.levels, i, &level{priority: priority, byOwner: make(map[string]*ownerQueue)})
	}
	return p.levels[i]
}

// owner returns the owner's queue, adding a new owner at the end of the
// current round (just before whoever's turn it is).
func (l *level) owner(name string) *ownerQueue {
	if q, ok := l.byOwner[name]; ok {
		return q
	}
	q := &ownerQueue{owner: name}
	l.byOwner[name] = q
	l.ring = slices.Insert(l.ring, l.next, q)
	if len(l.ring) > 1 {
		l.next++
	}
	l.next %= len(l.ring)
	return q
}

// Remove implements Policy.
func (p *FairPolicy) Remove(id string) bool {
	c, ok := p.byID[id]
	if !ok {
		return false
	}
	delete(p.byID, id)
	li := slices.IndexFunc(p.levels, func(l *level) bool { return l.priority == c.Priority })
	l := p.levels[li]
	q := l.byOwner[c.Owner]
	if i, found := slices.BinarySearchFunc(q.jobs, c, cmpSeq); found {
		q.remove(i)
	}
	if len(q.jobs) == 0 {
		l.dropOwner(q)
	}
	if len(l.ring) == 0 {
		p.levels = slices.Delete(p.levels, li, li+1)
	}
	return true
}

// remove deletes the i-th job. Taking the head, the common case, is O(1):
// a long backlog is not copied on every dispatch.
func (q *ownerQueue) remove(i int) {
	if i == 0 {
		q.jobs[0] = nil // let the candidate be collected
		q.jobs = q.jobs[1:]
		return
	}
	q.jobs = slices.Delete(q.jobs, i, i+1)
}

// dropOwner removes an owner with no jobs left from the ring, keeping the
// turn with whoever was due.
func (l *level) dropOwner(q *ownerQueue) {
	i := slices.Index(l.ring, q)
	delete(l.byOwner, q.owner)
	l.ring = slices.Delete(l.ring, i, i+1)
	if i < l.next {
		l.next--
	}
	if len(l.ring) == 0 || l.next >= len(l.ring) {
		l.next = 0
	}
}

// Pop implements Policy.
func (p *FairPolicy) Pop(accept func(*Candidate) bool) *Candidate {
	for _, l := range p.levels {
		if c, turn := l.find(accept); c != nil {
			// The owner after this one is due next, even if this owner's
			// queue empties and leaves the ring in Remove.
			l.next = (turn + 1) % len(l.ring)
			p.Remove(c.ID)
			return c
		}
	}
	return nil
}

// find returns the first accepted candidate in turn order and the ring index
// of its owner.
func (l *level) find(accept func(*Candidate) bool) (*Candidate, int) {
	for k := range l.ring {
		i := (l.next + k) % len(l.ring)
		q := l.ring[i]
		for j, c := range q.jobs {
			if j >= scanLimit {
				break
			}
			if accept(c) {
				return c, i
			}
		}
	}
	return nil, 0
}

// Position implements Policy. Within a level it assumes strict turns: a job
// that is its owner's i-th gets ahead of it the owner's first i jobs, plus up
// to i (or i+1, for owners due earlier in the round) jobs of each other owner.
func (p *FairPolicy) Position(id string) (int, bool) {
	c, ok := p.byID[id]
	if !ok {
		return 0, false
	}
	pos := 0
	for _, l := range p.levels {
		if l.priority != c.Priority {
			if l.priority > c.Priority {
				pos += l.count()
			}
			continue
		}
		pos += l.position(c)
	}
	return pos, true
}

func (l *level) count() int {
	n := 0
	for _, q := range l.ring {
		n += len(q.jobs)
	}
	return n
}

func (l *level) position(c *Candidate) int {
	q := l.byOwner[c.Owner]
	i, _ := slices.BinarySearchFunc(q.jobs, c, cmpSeq)
	mine := (slices.Index(l.ring, q) - l.next + len(l.ring)) % len(l.ring)
	pos := i
	for k, other := range l.ring {
		if other == q {
			continue
		}
		ahead := i
		if (k-l.next+len(l.ring))%len(l.ring) < mine {
			ahead = i + 1
		}
		pos += min(len(other.jobs), ahead)
	}
	return pos
}
