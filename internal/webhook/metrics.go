package webhook

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the worker's instruments. None is labelled by destination:
// URLs are the users', and unbounded.
type metrics struct {
	attempts *prometheus.CounterVec // by result: delivered, retrying, failed
	duration prometheus.Histogram   // one attempt, request to answer
	latency  prometheus.Histogram   // event to delivery
	progress *prometheus.CounterVec // job.progress by result: sent, failed, dropped
	inFlight prometheus.Gauge       // attempts now
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	var (
		m   metrics
		err error
	)
	if m.attempts, err = register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "comfygate", Subsystem: "webhook",
		Name: "attempts_total", Help: "Webhook delivery attempts, by what followed: delivered, retrying, failed (given up)."}, []string{"result"})); err != nil {
		return nil, err
	}
	if m.duration, err = register(reg, prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "comfygate", Subsystem: "webhook",
		Name: "attempt_duration_seconds", Help: "Time of one webhook attempt, from request to answer (or timeout).",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}})); err != nil {
		return nil, err
	}
	if m.latency, err = register(reg, prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "comfygate", Subsystem: "webhook",
		Name: "delivery_latency_seconds", Help: "Time from a job event to its webhook's delivery, retries included.",
		Buckets: []float64{.01, .05, .1, .25, .5, 1, 5, 30, 60, 300, 1800, 3600, 21600, 86400}})); err != nil {
		return nil, err
	}
	if m.progress, err = register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "comfygate", Subsystem: "webhook",
		Name: "progress_total", Help: "job.progress messages: sent (2xx), failed (no 2xx; never retried), dropped (over capacity)."}, []string{"result"})); err != nil {
		return nil, err
	}
	if m.inFlight, err = register(reg, prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "comfygate", Subsystem: "webhook",
		Name: "attempts_in_flight", Help: "Webhook attempts in flight now."})); err != nil {
		return nil, err
	}
	return &m, nil
}

// register adds c to reg, or reuses the collector already there (two
// workers on one registry share their series).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	var dup prometheus.AlreadyRegisteredError
	if errors.As(err, &dup) {
		if existing, ok := dup.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, err
}
