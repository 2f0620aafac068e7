package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/comfygate/comfygate/internal/gateway"
)

// catalogWait bounds how long storing the examples waits for a backend's
// node catalog. The demo's in-process simulators answer within
// milliseconds; a slower start stores the examples with fewer detected
// parameters rather than hang.
const catalogWait = 10 * time.Second

// storeExamples stores each example workflow whose name is free; a
// workflow the user saved under that name is left alone. The gateway
// detects an example's parameters from the fleet's node catalog (their
// types, bounds and choices, such as the sampler names), so the first one
// to store waits, up to catalogWait, until a backend is healthy.
func storeExamples(ctx context.Context, svc *gateway.Service, ready func() bool, log *slog.Logger) error {
	list, err := Examples()
	if err != nil {
		return err
	}
	// The examples are shared workflows: owner "" writes the shared ones.
	for _, ex := range list {
		_, err := svc.GetWorkflow(ctx, "", ex.Name)
		if err == nil {
			continue
		}
		if !errors.Is(err, gateway.ErrNotFound) {
			return fmt.Errorf("example %s: %w", ex.Name, err)
		}
		if !waitUntil(ctx, catalogWait, ready) {
			log.Warn("no healthy backend yet: storing the example with the parameters the graph alone shows", "name", ex.Name)
		}
		if _, _, err := svc.PutWorkflow(ctx, "", ex.Name, ex.Body); err != nil {
			return fmt.Errorf("store example %s: %w", ex.Name, err)
		}
		log.Info("stored example workflow", "name", ex.Name)
	}
	return nil
}

// waitUntil checks cond every few milliseconds until it holds (true), or
// until max passes or ctx ends (false). The fleet offers no signal for its
// first healthy backend, and this runs once, at start.
func waitUntil(ctx context.Context, max time.Duration, cond func() bool) bool {
	ctx, cancel := context.WithTimeout(ctx, max)
	defer cancel()
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
	return true
}
