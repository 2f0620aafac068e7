package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// stop shuts the started parts down; parts that were never started are
// nil and skipped, so assemble uses it to undo a failed start too.
func (p *parts) stop(ctx context.Context, log *slog.Logger) error {
	close(p.stopped)
	errs := []error{p.stopHTTP(ctx, log)}
	if p.comfy != nil {
		// Closes the ComfyUI sockets, which a graceful HTTP shutdown does
		// not wait for, then its relay.
		if err := p.comfy.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop comfyui surface: %w", err))
		}
	}
	if p.keep != nil {
		if err := p.keep.Stop(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if p.fleet != nil {
		// The fleet's own two phases: no new dispatches, bookkeeping in
		// flight finishes until ctx's deadline, then everything is cancelled.
		if err := p.fleet.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop fleet: %w", err))
		}
	}
	if p.webhooks.worker != nil {
		// Attempts in flight finish and are recorded until ctx's end.
		if err := p.webhooks.worker.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop webhooks: %w", err))
		}
	}
	if p.webhooks.policy != nil {
		p.webhooks.policy.CloseIdleConnections()
	}
	if p.watch != nil {
		p.watch.Close()
	}
	// The fleet's last words (leases handed over) reach the other replicas.
	if err := p.replicas.stop(ctx); err != nil {
		errs = append(errs, fmt.Errorf("stop replicas' bus: %w", err))
	}
	if p.hub != nil {
		p.hub.Close()
	}
	if p.fetcher != nil {
		p.fetcher.CloseIdleConnections()
	}
	if err := p.sims.stop(); err != nil {
		errs = append(errs, fmt.Errorf("stop simulators: %w", err))
	}
	if p.arts != nil {
		if err := p.arts.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close artifacts: %w", err))
		}
	}
	if p.store != nil {
		if err := p.store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close store: %w", err))
		}
	}
	if err := p.lock.release(); err != nil {
		errs = append(errs, fmt.Errorf("unlock data directory: %w", err))
	}
	return errors.Join(errs...)
}

// stopHTTP stops accepting connections, ends streams and waits, and lets
// in-flight requests finish until ctx's deadline; then it cancels what is
// left and closes every connection. It returns once the server's goroutine
// has.
func (p *parts) stopHTTP(ctx context.Context, log *slog.Logger) error {
	if p.api != nil {
		p.api.Drain() // ends streams and ?wait= requests at once
	}
	if p.http == nil {
		if p.ln != nil {
			_ = p.ln.Close()
		}
		return nil
	}
	err := p.http.Shutdown(ctx)
	if err != nil {
		log.Warn("graceful shutdown ran out of time; cancelling requests in flight", "err", err)
		p.reqCancel()
		err = errors.Join(err, p.http.Close())
	}
	p.reqCancel()
	<-p.serveDone
	if err != nil {
		return fmt.Errorf("stop http: %w", err)
	}
	return nil
}
