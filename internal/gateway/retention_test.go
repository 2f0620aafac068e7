package gateway

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/internal/lifecycle"
)

// limitRecorder is a job.Store that notes the limits retention asks for.
type limitRecorder struct {
	job.Store
	mu     sync.Mutex // guards limits
	limits []int
}

func (s *limitRecorder) JobsFinishedBefore(ctx context.Context, t time.Time, limit int) ([]string, error) {
	s.mu.Lock()
	s.limits = append(s.limits, limit)
	s.mu.Unlock()
	return s.Store.JobsFinishedBefore(ctx, t, limit)
}

// retentionEnv is an env whose service sees the clock at now and reads
// the store through rec.
func retentionEnv(t *testing.T, now time.Time) (*env, *Service, *limitRecorder) {
	e := newEnv(t)
	rec := &limitRecorder{Store: e.store}
	cfg := e.svc.cfg
	cfg.Store, cfg.Clock = rec, func() time.Time { return now }
	svc, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e, svc, rec
}

func TestRetentionSweep(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	e, svc, rec := retentionEnv(t, now)
	maxAge := 30 * 24 * time.Hour
	var expired []*job.Job
	var expiredBlobs []string
	for i := range 5 {
		blob := e.putBlob(t, "old output "+string(rune('a'+i)))
		expiredBlobs = append(expiredBlobs, blob)
		st := []job.State{job.StateSucceeded, job.StateFailed}[i%2]
		expired = append(expired, e.finishedJob(t, "alice", st, now.Add(-maxAge-time.Duration(i+1)*time.Hour), nil, []string{blob}))
	}
	keptBlob := e.putBlob(t, "recent output")
	recent := e.finishedJob(t, "alice", job.StateSucceeded, now.Add(-maxAge+time.Hour), nil, []string{keptBlob})
	stillRunning := e.finishedJob(t, "alice", job.StateRunning, now.Add(-2*maxAge), nil, nil)

	reg := prometheus.NewRegistry()
	r, err := svc.NewRetention(RetentionConfig{MaxAge: maxAge, Batch: 2, Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	jobs, blobs, err := r.Sweep(context.Background())
	if err != nil || jobs != 5 || blobs != 5 {
		t.Fatalf("Sweep = %d jobs, %d blobs, %v; want 5 and 5", jobs, blobs, err)
	}
	for _, j := range expired {
		if _, err := e.store.GetJob(context.Background(), j.ID); !errors.Is(err, job.ErrNotFound) {
			t.Errorf("expired job %s: %v, want it deleted", j.ID, err)
		}
	}
	for _, b := range expiredBlobs {
		if e.blobExists(t, b) {
			t.Errorf("blob %.8s of an expired job is still stored", b)
		}
	}
	for _, j := range []*job.Job{recent, stillRunning} {
		if _, err := e.store.GetJob(context.Background(), j.ID); err != nil {
			t.Errorf("job %s (%s) was deleted: %v", j.ID, j.State, err)
		}
	}
	if !e.blobExists(t, keptBlob) {
		t.Error("the recent job's output was removed")
	}
	rec.mu.Lock()
	limits := append([]int(nil), rec.limits...)
	rec.mu.Unlock()
	if len(limits) != 3 || limits[0] != 2 || limits[1] != 2 || limits[2] != 2 {
		t.Errorf("store asked with limits %v, want three batches of 2", limits)
	}
	want := map[string]float64{"comfygate_retention_jobs_deleted_total": 5, "comfygate_retention_blobs_removed_total": 5}
	if got := counters(t, reg); len(got) != len(want) || got["comfygate_retention_jobs_deleted_total"] != 5 || got["comfygate_retention_blobs_removed_total"] != 5 {
		t.Errorf("metrics = %v, want %v", got, want)
	}
	if jobs, _, err := r.Sweep(context.Background()); jobs != 0 || err != nil {
		t.Errorf("a second sweep deleted %d jobs (%v), want none", jobs, err)
	}
}

func TestRetentionRunsInTheBackground(t *testing.T) {
	now := time.Now()
	e, svc, _ := retentionEnv(t, now)
	old := e.finishedJob(t, "", job.StateSucceeded, now.Add(-48*time.Hour), nil, nil)
	r, err := svc.NewRetention(RetentionConfig{MaxAge: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Stop(context.Background()); err != nil {
		t.Errorf("Stop before Start: %v", err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); !errors.Is(err, lifecycle.ErrStarted) {
		t.Errorf("second Start: %v, want ErrStarted", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := e.store.GetJob(context.Background(), old.ID)
		if errors.Is(err, job.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the old job is still there: %v", err)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition, not waiting for time to pass
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.Stop(ctx); err != nil {
		t.Errorf("Stop: %v", err)
	}
}

func TestRetentionConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		cfg       RetentionConfig
		wantErr   bool
		wantEvery time.Duration
	}{
		{"no max age", RetentionConfig{}, true, 0},
		{"negative max age", RetentionConfig{MaxAge: -time.Hour}, true, 0},
		{"a month: hourly sweeps", RetentionConfig{MaxAge: 30 * 24 * time.Hour}, false, time.Hour},
		{"an hour: every six minutes", RetentionConfig{MaxAge: time.Hour}, false, 6 * time.Minute},
		{"a minute: every minute", RetentionConfig{MaxAge: time.Minute}, false, time.Minute},
		{"as asked", RetentionConfig{MaxAge: time.Hour, Every: time.Second}, false, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.cfg.withDefaults()
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err == nil && (got.Every != tt.wantEvery || got.Batch != 100) {
				t.Errorf("every %v batch %d, want %v and 100", got.Every, got.Batch, tt.wantEvery)
			}
		})
	}
}

// counters returns the value of every counter reg holds, by name.
func counters(tb testing.TB, reg *prometheus.Registry) map[string]float64 {
	tb.Helper()
	families, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			out[f.GetName()] += m.GetCounter().GetValue()
		}
	}
	return out
}
