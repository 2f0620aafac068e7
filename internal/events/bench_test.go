package events

import (
	"context"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

func BenchmarkFanOut1000(b *testing.B)  { benchmarkFanOut(b, 1000) }
func BenchmarkFanOut10000(b *testing.B) { benchmarkFanOut(b, 10000) }

// benchmarkFanOut publishes events of one job to n subscribers, each read by
// its own goroutine as an SSE handler would. ns/op is the cost of one
// publish reaching everyone; it reports the p99 publish→receive latency and
// the hub's heap bytes per idle subscription.
func benchmarkFanOut(b *testing.B, n int) {
	h := NewHub(Options{})
	defer h.Close()
	subs, perSub := subscribeMany(b, h, n)

	// Publishing runs in batches smaller than the subscriber buffer, waiting
	// for every reader between batches, so nobody is dropped for being slow.
	const batch = 32
	var barrier sync.WaitGroup
	samples := make([][]time.Duration, n)
	var readers sync.WaitGroup
	for i, s := range subs {
		readers.Go(func() { samples[i] = readLatencies(s, batch, &barrier) })
	}

	b.ReportAllocs()
	b.ResetTimer()
	for i := 1; i <= b.N || (i-1)%batch != 0; i++ {
		if i == b.N+1 {
			b.StopTimer() // pad the last batch, untimed
		}
		if (i-1)%batch == 0 {
			barrier.Add(n)
		}
		h.Publish(Event{JobID: "job", Owner: "alice", Type: "progress", Time: time.Now()})
		if i%batch == 0 {
			barrier.Wait()
		}
	}
	b.StopTimer()
	if d := h.Stats().Dropped; d != 0 {
		b.Fatalf("%d subscribers dropped", d)
	}
	h.Close()
	readers.Wait()
	b.ReportMetric(p99(samples).Seconds()*1e3, "p99-ms")
	b.ReportMetric(perSub, "hub-B/sub")
}

// subscribeMany opens n subscriptions and measures the heap they take.
func subscribeMany(b *testing.B, h *Hub, n int) ([]*Subscription, float64) {
	b.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	subs := make([]*Subscription, n)
	for i := range subs {
		s, err := h.Subscribe(context.Background(), "job", ID{})
		if err != nil {
			b.Fatal(err)
		}
		subs[i] = s
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	return subs, float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
}

// readLatencies reads until the subscription closes, keeping a uniform
// sample (reservoir) of publish→receive latencies.
func readLatencies(s *Subscription, batch int64, barrier *sync.WaitGroup) []time.Duration {
	const keep = 64
	sample := make([]time.Duration, 0, keep)
	var seen int
	for e := range s.C() {
		d := time.Since(e.Time)
		seen++
		switch {
		case len(sample) < keep:
			sample = append(sample, d)
		case rand.IntN(seen) < keep:
			sample[rand.IntN(keep)] = d
		}
		if e.Sub%batch == 0 {
			barrier.Done()
		}
	}
	return sample
}

func p99(samples [][]time.Duration) time.Duration {
	all := slices.Concat(samples...)
	if len(all) == 0 {
		return 0
	}
	slices.Sort(all)
	return all[len(all)*99/100]
}
