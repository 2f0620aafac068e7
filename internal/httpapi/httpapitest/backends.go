package httpapitest

import (
	"context"

	"github.com/comfygate/comfygate/api"
)

// The backend admin methods of Service.

func (s *Service) AddBackend(ctx context.Context, req api.AddBackendRequest) (api.Backend, error) {
	if s.AddBackendFunc == nil {
		return api.Backend{}, ErrNotImplemented
	}
	return s.AddBackendFunc(ctx, req)
}

func (s *Service) RemoveBackend(ctx context.Context, id string) error {
	if s.RemoveBackendFunc == nil {
		return ErrNotImplemented
	}
	return s.RemoveBackendFunc(ctx, id)
}

func (s *Service) DrainBackend(ctx context.Context, id string) (api.Backend, error) {
	if s.DrainBackendFunc == nil {
		return api.Backend{}, ErrNotImplemented
	}
	return s.DrainBackendFunc(ctx, id)
}

func (s *Service) ResumeBackend(ctx context.Context, id string) (api.Backend, error) {
	if s.ResumeBackendFunc == nil {
		return api.Backend{}, ErrNotImplemented
	}
	return s.ResumeBackendFunc(ctx, id)
}

func (s *Service) TestBackend(ctx context.Context, url string) (api.BackendProbe, error) {
	if s.TestBackendFunc == nil {
		return api.BackendProbe{}, ErrNotImplemented
	}
	return s.TestBackendFunc(ctx, url)
}
