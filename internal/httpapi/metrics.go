package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the transport's own instruments. The gateway and the fleet
// register theirs on the same registry, so one scrape of /metrics sees all.
type metrics struct {
	duration *prometheus.HistogramVec // by route pattern and status
	inFlight prometheus.Gauge
	streams  *prometheus.GaugeVec // open SSE/WebSocket streams by kind
	http     http.Handler         // serves /metrics from the registry
}

func newMetrics(reg *prometheus.Registry) (*metrics, error) {
	m := &metrics{http: promhttp.HandlerFor(reg, promhttp.HandlerOpts{})}
	var err error
	if m.duration, err = register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "comfygate", Subsystem: "http", Name: "request_duration_seconds",
		Help:    "Time to serve a request of the native API, by route pattern and status (streams: their whole life).",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10, 60, 600},
	}, []string{"route", "code"})); err != nil {
		return nil, err
	}
	if m.inFlight, err = register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "comfygate", Subsystem: "http", Name: "requests_in_flight",
		Help: "Requests of the native API being served now.",
	})); err != nil {
		return nil, err
	}
	if m.streams, err = register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "comfygate", Subsystem: "http", Name: "open_streams",
		Help: "Event streams open now, by kind (sse, ws).",
	}, []string{"kind"})); err != nil {
		return nil, err
	}
	return m, nil
}

// register adds c to reg, or reuses the collector already there: two
// servers built on one registry (tests, a restart in-process) share series.
func register[C prometheus.Collector](reg *prometheus.Registry, c C) (C, error) {
	err := reg.Register(c)
	var dup prometheus.AlreadyRegisteredError
	if errors.As(err, &dup) {
		if existing, ok := dup.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, err
}

// observe records one finished request. A handler that wrote nothing got
// net/http's implicit 200.
func (m *metrics) observe(route string, rec *recorder, start time.Time) {
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	m.duration.WithLabelValues(route, strconv.Itoa(status)).Observe(time.Since(start).Seconds())
}
