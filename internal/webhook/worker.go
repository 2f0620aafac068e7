package webhook

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/internal/lifecycle"
)

// Worker delivers the outbox's messages. Start it once; Stop ends it.
type Worker struct {
	cfg     Config
	metrics *metrics
	life    lifecycle.Lifecycle
	wake    chan struct{} // cap 1: a slot freed, look again
	stop    chan struct{} // closed by Stop: claim nothing more
	loops   sync.WaitGroup
	sends   sync.WaitGroup // attempts in flight

	mu       sync.Mutex                       // guards the fields below
	running  int                              // attempts in flight
	inflight map[string]int                   // attempts in flight by host
	held     map[string][]*job.WebhookMessage // claimed, waiting for a slot of their host

	progress *progressSender
}

// New checks cfg and returns a Worker that is not started.
func New(cfg Config) (*Worker, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.Registry)
	if err != nil {
		return nil, fmt.Errorf("webhook metrics: %w", err)
	}
	w := &Worker{cfg: cfg, metrics: m, wake: make(chan struct{}, 1), stop: make(chan struct{}),
		inflight: map[string]int{}, held: map[string][]*job.WebhookMessage{}}
	if cfg.Hub != nil {
		w.progress = newProgressSender(w)
	}
	return w, nil
}

// Start releases the leases this replica held in a previous life (nothing
// of it is in flight now) and starts delivering; the worker runs until
// Stop, not until ctx ends.
func (w *Worker) Start(ctx context.Context) error {
	return w.life.Start(context.WithoutCancel(ctx), func(lctx context.Context) error {
		if _, err := w.cfg.Store.ReleaseWebhooks(ctx, w.cfg.Owner); err != nil {
			return fmt.Errorf("webhook worker: %w", err)
		}
		w.loops.Add(1)
		go w.run(lctx)
		if w.progress != nil {
			if err := w.progress.start(lctx); err != nil {
				close(w.stop)
				w.loops.Wait()
				return err
			}
		}
		return nil
	})
}

// Stop claims nothing more, lets the attempts in flight finish (and be
// recorded) until ctx ends, then cuts them short. Messages claimed but not
// yet tried keep their lease until it lapses, or until this replica starts
// again and releases it.
func (w *Worker) Stop(ctx context.Context) error {
	return w.life.Stop(ctx, func(ctx context.Context) error {
		close(w.stop)
		if w.progress != nil {
			w.progress.cancel()
		}
		w.loops.Wait()
		done := make(chan struct{})
		go func() { w.sends.Wait(); close(done) }()
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			w.life.Cancel()
			<-done
			return ctx.Err()
		}
	})
}

// Kick makes the worker look at the outbox now.
func (w *Worker) Kick() { signal(w.wake) }

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// run claims and starts due messages, then waits for new ones, a free
// slot, the next due time or the poll interval.
func (w *Worker) run(ctx context.Context) {
	defer w.loops.Done()
	queued := w.cfg.Store.WebhookQueued()
	for {
		w.claim(ctx)
		t := w.cfg.Clock.NewTimer(w.nextWait(ctx))
		select {
		case <-w.stop:
			t.Stop()
			return
		case <-queued:
		case <-w.wake:
		case <-t.C():
		}
		t.Stop()
	}
}

// nextWait is how long to sleep: until the next message is due, at most
// PollInterval. A due message that could not be claimed (its job's earlier
// message is in flight, its host is busy) waits for a wake-up or a poll.
func (w *Worker) nextWait(ctx context.Context) time.Duration {
	due, ok, err := w.cfg.Store.NextWebhookDue(ctx)
	if err != nil || !ok {
		return w.cfg.PollInterval
	}
	if d := due.Sub(w.cfg.Clock.Now()); d > 0 && d < w.cfg.PollInterval {
		return d
	}
	return w.cfg.PollInterval
}

// claim leases as many due messages as there are free slots, skipping
// hosts whose slots are all taken. A claim may still bring a host more
// messages than it has slots; those wait for its slots (see admit) without
// taking other hosts' — and the host, now full, is skipped by the next
// claims, so what waits stays within one claim's worth.
func (w *Worker) claim(ctx context.Context) {
	w.mu.Lock()
	free := w.cfg.Concurrency - w.running
	var skip []string
	for h, n := range w.inflight {
		if n >= w.cfg.PerHost {
			skip = append(skip, h)
		}
	}
	w.mu.Unlock()
	if free <= 0 {
		return
	}
	now := w.cfg.Clock.Now()
	ms, err := w.cfg.Store.ClaimWebhooks(ctx, job.WebhookClaim{Owner: w.cfg.Owner, Now: now,
		LeaseUntil: now.Add(w.cfg.LeaseFor), Limit: free, SkipHosts: skip})
	if err != nil {
		if ctx.Err() == nil {
			w.cfg.Logger.Warn("webhook: claim failed", "err", err)
		}
		return
	}
	for _, m := range ms {
		w.admit(ctx, m)
	}
}

// admit starts m at once if its host has a free slot, else holds it until
// one of that host's attempts ends.
func (w *Worker) admit(ctx context.Context, m *job.WebhookMessage) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.inflight[m.Host] >= w.cfg.PerHost {
		w.held[m.Host] = append(w.held[m.Host], m)
		return
	}
	w.inflight[m.Host]++
	w.startLocked(ctx, m)
}

func (w *Worker) startLocked(ctx context.Context, m *job.WebhookMessage) {
	w.running++
	w.sends.Add(1)
	w.metrics.inFlight.Inc()
	go func() {
		defer w.sends.Done()
		defer w.metrics.inFlight.Dec()
		w.attempt(ctx, m)
		w.finished(ctx, m.Host)
	}()
}

// finished frees m's slot: to the next held message of its host, or back
// to the pool, and wakes the loop to claim more.
func (w *Worker) finished(ctx context.Context, host string) {
	w.mu.Lock()
	w.running--
	if next := w.held[host]; len(next) > 0 && !w.stopping() {
		w.held[host] = next[1:]
		w.startLocked(ctx, next[0])
	} else {
		w.inflight[host]--
		if w.inflight[host] == 0 {
			delete(w.inflight, host)
		}
	}
	w.mu.Unlock()
	signal(w.wake)
}

// stopping reports whether Stop has begun: held messages are then left to
// their leases rather than tried.
func (w *Worker) stopping() bool {
	select {
	case <-w.stop:
		return true
	default:
		return false
	}
}
