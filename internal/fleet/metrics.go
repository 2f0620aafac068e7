package fleet

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the fleet's Prometheus collectors. A nil registerer gives
// collectors that are updated but never exported, so call sites need no
// checks.
type metrics struct {
	dispatched *prometheus.CounterVec   // backend
	finished   *prometheus.CounterVec   // outcome
	latency    *prometheus.HistogramVec // backend, op
	inflight   *prometheus.GaugeVec     // backend
	state      *prometheus.GaugeVec     // backend, state
	driven     *prometheus.GaugeVec     // backend
	claimLost  prometheus.Counter
	queueDepth prometheus.Gauge
	jobs       *jobMetrics
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		dispatched: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "comfygate", Subsystem: "fleet", Name: "jobs_dispatched_total",
			Help: "Jobs submitted to a backend.",
		}, []string{"backend"}),
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "comfygate", Subsystem: "fleet", Name: "jobs_finished_total",
			Help: "Attempts that ended, by outcome (succeeded, failed, cancelled, retried, moved).",
		}, []string{"outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "comfygate", Subsystem: "fleet", Name: "backend_request_seconds",
			Help:    "Latency of requests to backends, by operation.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"backend", "op"}),
		inflight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "comfygate", Subsystem: "fleet", Name: "inflight_jobs",
			Help: "Jobs in a backend's hands (running or waiting in its queue).",
		}, []string{"backend"}),
		state: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "comfygate", Subsystem: "fleet", Name: "backend_state",
			Help: "1 for the state each backend is in.",
		}, []string{"backend", "state"}),
		driven: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "comfygate", Subsystem: "fleet", Name: "backend_driven",
			Help: "1 while this replica holds the backend's lease (its socket, its dispatch), else 0.",
		}, []string{"backend"}),
		claimLost: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "comfygate", Subsystem: "fleet", Name: "claims_lost_total",
			Help: "Claims of a queued job that found it claimed (by another replica) or cancelled first.",
		}),
		queueDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "comfygate", Subsystem: "fleet", Name: "queue_depth",
			Help: "Dispatchable jobs in this replica's view of the queue.",
		}),
		jobs: newJobMetrics(),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	m.dispatched, err = register(reg, m.dispatched, err)
	m.finished, err = register(reg, m.finished, err)
	m.latency, err = register(reg, m.latency, err)
	m.inflight, err = register(reg, m.inflight, err)
	m.state, err = register(reg, m.state, err)
	m.driven, err = register(reg, m.driven, err)
	m.claimLost, err = register(reg, m.claimLost, err)
	m.queueDepth, err = register(reg, m.queueDepth, err)
	err = m.jobs.register(reg, err)
	if err != nil {
		return nil, fmt.Errorf("fleet metrics: %w", err)
	}
	return m, nil
}

// register registers c, or returns the collector already registered under
// its name (a second Fleet in one process shares them). A previous error is
// passed through.
func register[T prometheus.Collector](reg prometheus.Registerer, c T, prev error) (T, error) {
	if prev != nil {
		return c, prev
	}
	err := reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(T); ok {
			return existing, nil
		}
	}
	return c, err
}

func (m *metrics) observeRequest(backend, op string, d time.Duration, err error) {
	if err == nil {
		m.latency.WithLabelValues(backend, op).Observe(d.Seconds())
	}
}

func (m *metrics) setBackendState(b *Backend) {
	for _, s := range []BackendState{StateHealthy, StateDegraded, StateDown, StateDraining, StateUnknown} {
		v := 0.0
		if b.State() == s {
			v = 1
		}
		m.state.WithLabelValues(b.ID(), string(s)).Set(v)
	}
}

func (m *metrics) setInflight(b *Backend) {
	m.inflight.WithLabelValues(b.ID()).Set(float64(b.inflight.Load()))
}

func (m *metrics) setDriven(b *Backend) {
	v := 0.0
	if b.driven.Load() {
		v = 1
	}
	m.driven.WithLabelValues(b.ID()).Set(v)
}

func (m *metrics) forget(b *Backend) {
	m.inflight.DeleteLabelValues(b.ID())
	m.driven.DeleteLabelValues(b.ID())
	for _, s := range []BackendState{StateHealthy, StateDegraded, StateDown, StateDraining, StateUnknown} {
		m.state.DeleteLabelValues(b.ID(), string(s))
	}
}
