package sqlstore

import (
	"strings"
	"testing"
)

func entry(seq, rev int64, size int) *graphEntry {
	return &graphEntry{seq: seq, rev: rev, graph: []byte(strings.Repeat("g", size))}
}

func TestGraphCache(t *testing.T) {
	type hit struct {
		seq, rev int64
		want     bool
	}
	tests := map[string]struct {
		max  int
		do   func(c *graphCache)
		hits []hit
	}{
		"only its revision": {
			max:  1000,
			do:   func(c *graphCache) { c.put(entry(1, 2, 10)) },
			hits: []hit{{1, 2, true}, {1, 1, false}, {1, 3, false}, {2, 2, false}},
		},
		"another revision replaces it": {
			max:  1000,
			do:   func(c *graphCache) { c.put(entry(1, 7, 10)); c.put(entry(1, 3, 10)) },
			hits: []hit{{1, 3, true}, {1, 7, false}},
		},
		"dropped": {
			max:  1000,
			do:   func(c *graphCache) { c.put(entry(1, 0, 10)); c.drop(1) },
			hits: []hit{{1, 0, false}},
		},
		"least recently used goes first": {
			max: 800, // eight entries of 100 bytes
			do: func(c *graphCache) {
				for seq := range int64(8) {
					c.put(entry(seq+1, 0, 100))
				}
				c.get(1, 0) // 2 is now the least recently used
				c.put(entry(9, 0, 100))
			},
			hits: []hit{{1, 0, true}, {2, 0, false}, {3, 0, true}, {8, 0, true}, {9, 0, true}},
		},
		"too large to keep, and its older revision goes": {
			max:  800,
			do:   func(c *graphCache) { c.put(entry(1, 0, 10)); c.put(entry(1, 1, 101)) },
			hits: []hit{{1, 0, false}, {1, 1, false}},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := newGraphCache(tt.max)
			tt.do(c)
			for _, h := range tt.hits {
				if _, ok := c.get(h.seq, h.rev); ok != h.want {
					t.Errorf("get(%d, %d) = %v, want %v", h.seq, h.rev, ok, h.want)
				}
			}
			total := 0
			for el := c.lru.Front(); el != nil; el = el.Next() {
				total += el.Value.(*graphEntry).size()
			}
			if total != c.bytes || c.bytes > c.max || len(c.items) != c.lru.Len() {
				t.Errorf("%d bytes counted, %d kept, max %d; %d items, %d in the list", c.bytes, total, c.max, len(c.items), c.lru.Len())
			}
		})
	}
}
