package sqlstore

import (
	"container/list"
	"sync"
)

// graphCacheBytes bounds the bytes of graph rows the store keeps in memory.
const graphCacheBytes = 16 << 20

// graphEntry is a job's graph row as committed at revision rev (the jobs
// row's graph_rev, newGraphRev). Its slices are never modified: the store hands them to
// an update's fn (which must not modify them in place) and returns copies.
type graphEntry struct {
	seq, rev                 int64
	params, graph, extraData []byte
}

func (e *graphEntry) size() int { return len(e.params) + len(e.graph) + len(e.extraData) }

// graphCache keeps the graph rows of live jobs so that an update, which
// must hand the whole job to its fn and return it, need not read the graph
// back from the database on every transition: reading 64 KiB cost more
// than the rest of the update. An entry is used only when its revision is
// the one the locked jobs row names, so a graph replaced by another
// replica, or by a transaction that was rolled back, is never served; and
// entries are put only after their transaction committed. Finished jobs
// leave it; the least recently used entries go past graphCacheBytes.
type graphCache struct {
	mu    sync.Mutex // guards the fields below
	items map[int64]*list.Element
	lru   list.List // of *graphEntry, most recently used first
	bytes int
	max   int
}

func newGraphCache(maxBytes int) *graphCache {
	return &graphCache{items: make(map[int64]*list.Element), max: maxBytes}
}

// get returns the entry of job seq at revision rev, if kept.
func (c *graphCache) get(seq, rev int64) (*graphEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[seq]
	if !ok {
		return nil, false
	}
	e := el.Value.(*graphEntry)
	if e.rev != rev {
		return nil, false
	}
	c.lru.MoveToFront(el)
	return e, true
}

// put keeps e in place of what the job had. Should two commits be reported
// out of order, the revision kept is not the job's: a miss, never a stale
// hit.
func (c *graphCache) put(e *graphEntry) {
	if e.size() > c.max/8 {
		c.drop(e.seq) // too large to be worth the room; an older revision must not stay
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[e.seq]; ok {
		c.remove(el)
	}
	c.items[e.seq] = c.lru.PushFront(e)
	c.bytes += e.size()
	for c.bytes > c.max {
		c.remove(c.lru.Back())
	}
}

// drop forgets job seq.
func (c *graphCache) drop(seq int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[seq]; ok {
		c.remove(el)
	}
}

func (c *graphCache) remove(el *list.Element) {
	e := c.lru.Remove(el).(*graphEntry)
	delete(c.items, e.seq)
	c.bytes -= e.size()
}
