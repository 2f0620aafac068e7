package fleet

import (
	"crypto/sha256"
	"strconv"
	"strings"
	"sync"
)

// reqInterner shares one *Requirements between jobs of the same shape.
// Jobs of one workflow usually differ only in values that are not
// requirements (seeds, prompts), and a queue of 100,000 such jobs should
// cost 100,000 small candidates, not 100,000 copies of a graph index.
// Requirements are immutable once built, so sharing is safe.
type reqInterner struct {
	mu sync.Mutex // guards m
	m  map[[32]byte]*Requirements
}

// maxInterned bounds the table; when full it starts over (a cache, not a
// registry: a miss only costs memory).
const maxInterned = 4096

func (in *reqInterner) intern(r *Requirements) *Requirements {
	if r == nil {
		return nil
	}
	key := r.shapeKey()
	in.mu.Lock()
	defer in.mu.Unlock()
	if have, ok := in.m[key]; ok {
		return have
	}
	if in.m == nil || len(in.m) >= maxInterned {
		in.m = make(map[[32]byte]*Requirements)
	}
	in.m[key] = r
	return r
}

// shapeKey hashes everything a Requirements holds.
func (r *Requirements) shapeKey() [32]byte {
	var b strings.Builder
	for _, id := range sortedKeys(r.classOf) {
		b.WriteString(id + "=" + r.classOf[id] + ";")
	}
	b.WriteByte('|')
	for _, m := range r.Models {
		b.WriteString(m.NodeID + "." + m.Input + "=" + m.Name + ";")
	}
	b.WriteByte('|')
	for _, in := range r.Inputs {
		b.WriteString(in.Value + ";")
	}
	b.WriteByte('|')
	for _, id := range sortedKeys(r.steps) {
		b.WriteString(id + "=" + strconv.FormatFloat(r.steps[id], 'g', -1, 64) + ";")
	}
	b.WriteString("|" + r.PrefixKey)
	return sha256.Sum256([]byte(b.String()))
}
