package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/comfygate/comfygate/internal/gateway"
)

// storeExamples stores each example workflow whose name is free; a
// workflow the user saved under that name is left alone.
func storeExamples(ctx context.Context, svc *gateway.Service, log *slog.Logger) error {
	list, err := Examples()
	if err != nil {
		return err
	}
	for _, ex := range list {
		_, err := svc.GetWorkflow(ctx, ex.Name)
		if err == nil {
			continue
		}
		if !errors.Is(err, gateway.ErrNotFound) {
			return fmt.Errorf("example %s: %w", ex.Name, err)
		}
		if _, _, err := svc.PutWorkflow(ctx, ex.Name, ex.Body); err != nil {
			return fmt.Errorf("store example %s: %w", ex.Name, err)
		}
		log.Info("stored example workflow", "name", ex.Name)
	}
	return nil
}
