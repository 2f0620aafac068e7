package fleet

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/comfygate/comfygate/internal/job"
)

// Label values of the job histograms besides workflow names.
const (
	rawGraphLabel = "_prompt" // a raw graph, no stored workflow
	otherLabel    = "_other"  // a workflow past maxWorkflowLabels
	// maxWorkflowLabels bounds the workflow label's values: workflow names
	// are chosen by callers, and every value is a series per bucket.
	maxWorkflowLabels = 100
)

// jobMetrics are the histograms of what a job's caller waits for.
type jobMetrics struct {
	duration  *prometheus.HistogramVec // source, workflow, outcome
	queueWait *prometheus.HistogramVec // source, workflow
	workflows *labelSet
}

func newJobMetrics() *jobMetrics {
	return &jobMetrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "comfygate", Subsystem: "job", Name: "duration_seconds",
			Help: "Time from submission to the end of a job, by source surface (rest, comfy, flask), workflow " +
				"(" + rawGraphLabel + " for a raw graph, " + otherLabel + " past 100 names) and outcome.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600},
		}, []string{"source", "workflow", "outcome"}),
		queueWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "comfygate", Subsystem: "job", Name: "queue_wait_seconds",
			Help:    "Time from submission until a job first started running on a backend (comfygate's queue and the backend's), by source and workflow.",
			Buckets: []float64{.001, .005, .01, .05, .1, .5, 1, 5, 10, 30, 60, 300, 900, 3600},
		}, []string{"source", "workflow"}),
		workflows: newLabelSet(maxWorkflowLabels),
	}
}

func (m *jobMetrics) register(reg prometheus.Registerer, prev error) error {
	var err error
	m.duration, err = register(reg, m.duration, prev)
	m.queueWait, err = register(reg, m.queueWait, err)
	return err
}

// ended observes a job that just reached a terminal state.
func (m *jobMetrics) ended(j *job.Job) {
	if !j.State.Terminal() || j.FinishedAt.IsZero() {
		return
	}
	m.duration.WithLabelValues(sourceLabel(j.Source), m.workflows.of(j.Workflow), string(j.State)).
		Observe(nonNegative(j.FinishedAt.Sub(j.CreatedAt)))
}

// started observes a job's first start; later attempts are not waits in
// the queue the caller chose to join.
func (m *jobMetrics) started(j *job.Job) {
	if j.Attempts != 1 || j.StartedAt.IsZero() {
		return
	}
	m.queueWait.WithLabelValues(sourceLabel(j.Source), m.workflows.of(j.Workflow)).
		Observe(nonNegative(j.StartedAt.Sub(j.CreatedAt)))
}

func sourceLabel(s string) string {
	if s == "" {
		return job.SourceREST
	}
	return s
}

func nonNegative(d time.Duration) float64 { return max(d, 0).Seconds() }

// labelSet hands out at most limit distinct label values; later ones share
// otherLabel.
type labelSet struct {
	limit int

	mu   sync.Mutex // guards seen
	seen map[string]bool
}

func newLabelSet(limit int) *labelSet { return &labelSet{limit: limit, seen: map[string]bool{}} }

func (l *labelSet) of(name string) string {
	if name == "" {
		return rawGraphLabel
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen[name] {
		return name
	}
	if len(l.seen) >= l.limit {
		return otherLabel
	}
	l.seen[name] = true
	return name
}
