package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/comfygate/comfygate/internal/fleet"
	"github.com/comfygate/comfygate/internal/gateway"
)

// The fleet as the gateway's admin use cases see it: fleetAdapter also
// implements gateway.FleetAdmin, translating the fleet's errors into the
// contract's.

var _ gateway.FleetAdmin = fleetAdapter{}

func (a fleetAdapter) AddBackend(b gateway.NewBackend) error {
	return adminError(a.f.AddBackend(fleet.BackendConfig{ID: b.ID, URL: b.URL, MaxInflight: b.MaxInflight, OutputDir: b.OutputDir}))
}

func (a fleetAdapter) RemoveBackend(ctx context.Context, id string) error {
	return adminError(a.f.RemoveBackend(ctx, id))
}

func (a fleetAdapter) Drain(id string) error { return adminError(a.f.Drain(id)) }

func (a fleetAdapter) Resume(id string) error { return adminError(a.f.Resume(id)) }

func (a fleetAdapter) TestBackend(ctx context.Context, url string) (gateway.BackendProbe, error) {
	p, err := a.f.TestBackend(ctx, url)
	if err != nil {
		return gateway.BackendProbe{}, err
	}
	return gateway.BackendProbe{URL: url, Latency: p.Latency, Version: p.Version,
		VRAMTotal: p.VRAMTotal, VRAMFree: p.VRAMFree, NodeCount: p.NodeCount, Devices: p.Devices}, nil
}

// adminError marks the fleet's admin errors with the gateway's sentinels,
// keeping the fleet's message and chain.
func adminError(err error) error {
	switch {
	case errors.Is(err, fleet.ErrUnknownBackend):
		return fmt.Errorf("%w: %w", gateway.ErrUnknownBackend, err)
	case errors.Is(err, fleet.ErrDuplicate):
		return fmt.Errorf("%w: %w", gateway.ErrDuplicateBackend, err)
	}
	return err
}
