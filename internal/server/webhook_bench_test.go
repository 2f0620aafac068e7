package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/comfygate/comfygate/comfy/comfysim"
)

// BenchmarkWebhookJobLatency shows that a webhook costs a job nothing: the
// same jobs (POST /v1/jobs?wait= until they succeeded) run without and
// with a webhook, alternating, on one simulator with zero-time nodes. The
// message is stored by the commit that ends the job and sent by the
// worker afterwards, off the job's path. Metrics: mean and median
// milliseconds per job each way, their difference, and how long the
// receiver waited after each job's answer on average (the delivery lag).
func BenchmarkWebhookJobLatency(b *testing.B) {
	sim := comfysim.Start(b, comfysim.Options{})
	var received atomic.Int64
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		received.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(rcv.Close)
	s := startServer(b, Config{Backends: []BackendConfig{{URL: sim.URL()}}, AllowLoopbackURLs: true})
	hc := client(b)
	waitReady(b, hc, s)
	jobs := newJobSource(b)
	plain := gatewayRunner(b, hc, s.URL(), "", jobs)
	hooked := gatewayRunner(b, hc, s.URL(), rcv.URL, jobs)
	measure(b, 1, 4, plain) // warm up
	measure(b, 1, 4, hooked)
	waitReceived(b, &received, 4)
	b.ResetTimer()
	var without, with []float64
	for i := range b.N {
		// Which goes first alternates, so neither gains from the order.
		if i%2 == 0 {
			without = append(without, measure(b, 1, 1, plain)...)
			with = append(with, measure(b, 1, 1, hooked)...)
		} else {
			with = append(with, measure(b, 1, 1, hooked)...)
			without = append(without, measure(b, 1, 1, plain)...)
		}
	}
	b.StopTimer()
	start := time.Now()
	waitReceived(b, &received, int64(4+b.N))
	b.ReportMetric(mean(without), "plain-ms/op")
	b.ReportMetric(mean(with), "webhook-ms/op")
	b.ReportMetric(mean(with)-mean(without), "added-ms/op")
	b.ReportMetric(median(with)-median(without), "added-p50-ms")
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000, "last-delivery-lag-ms")
}

func waitReceived(tb testing.TB, n *atomic.Int64, want int64) {
	tb.Helper()
	if !poll(func() bool { return n.Load() >= want }) {
		tb.Fatalf("receiver got %d webhooks, want %d", n.Load(), want)
	}
}
