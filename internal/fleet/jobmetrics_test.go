package fleet

import (
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/comfygate/comfygate/comfy/comfysim"
	"github.com/comfygate/comfygate/internal/job"
)

// TestJobHistograms: a finished job is counted in the job duration
// histogram (by source, workflow and outcome) and in the queue wait
// histogram (by source and workflow).
func TestJobHistograms(t *testing.T) {
	s := startSim(t, comfysim.Options{})
	reg := prometheus.NewRegistry()
	cfg := testConfig(openStore(t, t.TempDir()), newRecHub(), newMemArtifacts(), backendOf("gpu", s, 2))
	cfg.Metrics = reg
	e := startFleet(t, cfg)
	id := e.submit(t, imageGraph(simCheckpoint, 1, 2), func(j *job.Job) { j.Workflow = "txt2img" })
	if j := e.hub.waitTerminal(t, e.store, id); j.State != job.StateSucceeded {
		t.Fatalf("job %s: %v", j.State, j.Error)
	}
	raw := e.submit(t, imageGraph(simCheckpoint, 2, 2), func(j *job.Job) { j.Source = job.SourceComfy })
	e.hub.waitTerminal(t, e.store, raw)

	for _, tc := range []struct {
		metric string
		labels map[string]string
	}{
		{"comfygate_job_duration_seconds", map[string]string{"source": "rest", "workflow": "txt2img", "outcome": "succeeded"}},
		{"comfygate_job_queue_wait_seconds", map[string]string{"source": "rest", "workflow": "txt2img"}},
		{"comfygate_job_duration_seconds", map[string]string{"source": "comfy", "workflow": rawGraphLabel, "outcome": "succeeded"}},
		{"comfygate_job_queue_wait_seconds", map[string]string{"source": "comfy", "workflow": rawGraphLabel}},
	} {
		if n := histogramCount(t, reg, tc.metric, tc.labels); n != 1 {
			t.Errorf("%s%v: %d observations, want 1", tc.metric, tc.labels, n)
		}
	}
}

// histogramCount returns the sample count of the series of metric with
// exactly these labels (0 if there is none).
func histogramCount(tb testing.TB, reg *prometheus.Registry, metric string, labels map[string]string) uint64 {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != metric {
			continue
		}
		for _, m := range mf.GetMetric() {
			if sameLabels(m.GetLabel(), labels) {
				return m.GetHistogram().GetSampleCount()
			}
		}
	}
	return 0
}

func sameLabels(got []*dto.LabelPair, want map[string]string) bool {
	if len(got) != len(want) {
		return false
	}
	for _, l := range got {
		if want[l.GetName()] != l.GetValue() {
			return false
		}
	}
	return true
}

// TestWorkflowLabelIsBounded: past the cap, new workflow names share one
// label value, so a caller storing many workflows cannot grow /metrics
// without bound; names seen before keep theirs.
func TestWorkflowLabelIsBounded(t *testing.T) {
	t.Parallel()
	l := newLabelSet(3)
	for i := range 3 {
		if got := l.of(fmt.Sprint("w", i)); got != fmt.Sprint("w", i) {
			t.Errorf("label %d = %q", i, got)
		}
	}
	if got := l.of("w9"); got != otherLabel {
		t.Errorf("fourth name = %q, want %q", got, otherLabel)
	}
	if got := l.of("w1"); got != "w1" {
		t.Errorf("a name seen before = %q", got)
	}
	if got := l.of(""); got != rawGraphLabel {
		t.Errorf("raw graph = %q, want %q", got, rawGraphLabel)
	}
}
