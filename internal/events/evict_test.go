package events

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock for eviction tests.
type fakeClock struct {
	mu  sync.Mutex // guards now
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// sameShardJobs returns n job IDs that hash to one shard, so a test can
// drive that shard's eviction.
func sameShardJobs(h *Hub, n int) []string {
	first := "job-0"
	out := []string{first}
	for i := 1; len(out) < n; i++ {
		if id := fmt.Sprintf("job-%d", i); h.shard(id) == h.shard(first) {
			out = append(out, id)
		}
	}
	return out
}

func hasJob(h *Hub, id string) bool {
	sh := h.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	_, ok := sh.jobs[id]
	return ok
}

func TestFinishedJobEvictedAfterTTL(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	h := newTestHub(t, Options{FinishedTTL: time.Minute, Clock: clock.Now})
	jobs := sameShardJobs(h, 2)
	h.Publish(durable(jobs[0], 1, "succeeded"))
	clock.Advance(59 * time.Second)
	h.Publish(durable(jobs[1], 1, "queued"))
	if !hasJob(h, jobs[0]) {
		t.Fatal("finished job evicted before its TTL")
	}
	clock.Advance(time.Second)
	h.Publish(durable(jobs[1], 2, "started"))
	if hasJob(h, jobs[0]) {
		t.Error("finished job kept after its TTL")
	}
	if !hasJob(h, jobs[1]) {
		t.Error("running job evicted")
	}
}

func TestLeastRecentJobEvictedOverCapacity(t *testing.T) {
	t.Parallel()
	h := newTestHub(t, Options{MaxJobs: numShards}) // one job per shard
	jobs := sameShardJobs(h, 3)
	h.Publish(durable(jobs[0], 1, "queued"))
	subscribe(t, h, jobs[0], ID{}) // watched: must stay
	h.Publish(durable(jobs[1], 1, "queued"))
	h.Publish(durable(jobs[2], 1, "queued"))
	got := []bool{hasJob(h, jobs[0]), hasJob(h, jobs[1]), hasJob(h, jobs[2])}
	if want := []bool{true, false, true}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("jobs kept = %v, want %v (the watched one and the newest)", got, want)
	}
}

func TestRingBytesBound(t *testing.T) {
	t.Parallel()
	h := newTestHub(t, Options{RingBytes: 100})
	big := func(seq int64) Event {
		e := durable("j1", seq, "output")
		e.Data = []byte(`"` + strings.Repeat("x", 38) + `"`) // 40 bytes
		return e
	}
	for seq := int64(1); seq <= 5; seq++ {
		h.Publish(big(seq))
	}
	sh := h.shard("j1")
	sh.mu.Lock()
	st := sh.jobs["j1"]
	n, bytes, floor := st.ring.n, st.ring.bytes, st.floor
	sh.mu.Unlock()
	if n != 2 || bytes != 80 || floor != 3 {
		t.Errorf("ring holds %d events, %d bytes, floor %d; want 2, 80, 3", n, bytes, floor)
	}
	if _, err := h.Subscribe(t.Context(), "j1", ID{Seq: 2}); err == nil {
		t.Error("Subscribe after 2 with no Replayer: want ErrReplayUnavailable")
	}
}

func TestRingWraps(t *testing.T) {
	t.Parallel()
	h := newTestHub(t, Options{RingSize: 5})
	for seq := int64(1); seq <= 23; seq++ {
		h.Publish(durable("j1", seq, "output"))
	}
	s := subscribe(t, h, "j1", ID{Seq: 18})
	got := ids(recv(t, s, 5))
	if want := "[19 20 21 22 23]"; fmt.Sprint(got) != want {
		t.Errorf("got %v, want %s", got, want)
	}
}
