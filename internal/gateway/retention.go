package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/internal/lifecycle"
)

// RetentionConfig configures a Retention.
type RetentionConfig struct {
	// MaxAge is how long a finished job is kept after it ended. Required.
	MaxAge time.Duration
	// Every is the time between sweeps. Default: a tenth of MaxAge,
	// between a minute and an hour.
	Every time.Duration
	// Batch is how many jobs one store query selects, so that a first
	// sweep over years of history never holds more than a batch of ids.
	// Default 100.
	Batch int
	// Metrics registers the retention counters. Default: none.
	Metrics prometheus.Registerer
}

func (c RetentionConfig) withDefaults() (RetentionConfig, error) {
	if c.MaxAge <= 0 {
		return c, errors.New("gateway: retention needs a positive MaxAge")
	}
	if c.Every <= 0 {
		c.Every = min(max(c.MaxAge/10, time.Minute), time.Hour)
	}
	if c.Batch <= 0 {
		c.Batch = 100
	}
	return c, nil
}

// Retention deletes finished jobs older than MaxAge in the background, as
// DELETE /v1/jobs/{id} would (with the files only they used). Start runs
// a sweep at once and then every Every; Stop ends it and waits.
type Retention struct {
	svc  *Service
	cfg  RetentionConfig
	log  *slog.Logger
	life lifecycle.Lifecycle
	wg   sync.WaitGroup // the sweeping goroutine

	jobs, blobs prometheus.Counter
}

// NewRetention returns a Retention over the service's store; it starts
// nothing.
func (s *Service) NewRetention(cfg RetentionConfig) (*Retention, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	r := &Retention{svc: s, cfg: cfg, log: s.cfg.Logger,
		jobs: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "comfygate", Subsystem: "retention", Name: "jobs_deleted_total",
			Help: "Finished jobs the retention setting deleted.",
		}),
		blobs: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "comfygate", Subsystem: "retention", Name: "blobs_removed_total",
			Help: "Stored files removed with the jobs retention deleted (those no other job, upload or name used).",
		}),
	}
	if cfg.Metrics != nil {
		for _, c := range []prometheus.Collector{r.jobs, r.blobs} {
			if err := cfg.Metrics.Register(c); err != nil {
				return nil, fmt.Errorf("gateway: retention metrics: %w", err)
			}
		}
	}
	return r, nil
}

// Start begins sweeping; the goroutine lives until Stop.
func (r *Retention) Start(ctx context.Context) error {
	return r.life.Start(ctx, func(ctx context.Context) error {
		r.wg.Add(1)
		go r.loop(ctx)
		return nil
	})
}

// Stop ends the sweeps: a batch in flight is cut short (what it deleted
// stays deleted; the rest waits for the next start), and Stop waits for the
// goroutine up to ctx's end.
func (r *Retention) Stop(ctx context.Context) error {
	return r.life.Stop(ctx, func(ctx context.Context) error {
		r.life.Cancel()
		done := make(chan struct{})
		go func() { r.wg.Wait(); close(done) }()
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("stop retention: %w", ctx.Err())
		}
	})
}

func (r *Retention) loop(ctx context.Context) {
	defer r.wg.Done()
	t := time.NewTicker(r.cfg.Every)
	defer t.Stop()
	for {
		jobs, blobs, err := r.Sweep(ctx)
		if err != nil && ctx.Err() == nil {
			r.log.Warn("gateway: retention sweep failed", "err", err, "jobs_deleted", jobs)
		} else if jobs > 0 {
			r.log.Info("gateway: retention deleted old jobs", "jobs", jobs, "blobs", blobs, "max_age", r.cfg.MaxAge)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sweep deletes every finished job older than MaxAge, a batch at a time,
// and reports how many jobs and blobs it removed.
func (r *Retention) Sweep(ctx context.Context) (jobs, blobs int, err error) {
	cutoff := r.svc.cfg.Clock().Add(-r.cfg.MaxAge)
	for {
		ids, err := r.svc.cfg.Store.JobsFinishedBefore(ctx, cutoff, r.cfg.Batch)
		if err != nil {
			return jobs, blobs, fmt.Errorf("list expired jobs: %w", err)
		}
		for _, id := range ids {
			deleted, n, err := r.deleteOne(ctx, id)
			if err != nil {
				return jobs, blobs, err
			}
			if deleted {
				jobs++
				blobs += n
			}
		}
		if len(ids) < r.cfg.Batch {
			return jobs, blobs, nil
		}
	}
}

// deleteOne deletes one expired job; deleted is false when another
// deletion (a caller's, another replica's sweep) got there first.
func (r *Retention) deleteOne(ctx context.Context, id string) (deleted bool, blobs int, err error) {
	j, err := r.svc.cfg.Store.GetJob(ctx, id)
	if errors.Is(err, job.ErrNotFound) {
		return false, 0, nil
	}
	if err != nil {
		return false, 0, fmt.Errorf("read expired job %s: %w", id, err)
	}
	blobs, err = r.svc.deleteJob(ctx, j)
	if errors.Is(err, ErrNotFound) {
		return false, 0, nil
	}
	if err != nil {
		return false, 0, err
	}
	r.jobs.Inc()
	r.blobs.Add(float64(blobs))
	return true, blobs, nil
}
