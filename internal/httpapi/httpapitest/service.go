// Package httpapitest provides hand-written fakes of httpapi's Service,
// Stream and Artifact, shared by the transport's tests and the SDK's
// examples, so both run the real handler stack without a gateway.
package httpapitest

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/internal/httpapi"
)

// ErrNotImplemented is what a method without its Func returns.
var ErrNotImplemented = errors.New("httpapitest: not implemented")

// Service is an httpapi.Service whose methods call the matching Func
// field; a nil field makes the method fail with ErrNotImplemented.
type Service struct {
	SubmitJobFunc      func(ctx context.Context, owner string, req api.SubmitJobRequest, key string) (api.Job, bool, error)
	GetJobFunc         func(ctx context.Context, owner, id string) (api.Job, error)
	ListJobsFunc       func(ctx context.Context, owner string, q api.JobQuery) (api.JobList, error)
	CancelJobFunc      func(ctx context.Context, owner, id string) (api.Job, error)
	DeleteJobFunc      func(ctx context.Context, owner, id string) error
	WaitJobFunc        func(ctx context.Context, owner, id string) (api.Job, error)
	SubscribeJobFunc   func(ctx context.Context, owner, jobID, lastEventID string) (httpapi.Stream, error)
	SubscribeOwnerFunc func(ctx context.Context, owner string) (httpapi.Stream, error)
	PutWorkflowFunc    func(ctx context.Context, owner, name string, body []byte) (api.Workflow, bool, error)
	GetWorkflowFunc    func(ctx context.Context, owner, name string) (api.Workflow, error)
	ListWorkflowsFunc  func(ctx context.Context, owner string) ([]api.Workflow, error)
	DeleteWorkflowFunc func(ctx context.Context, owner, name string) error
	UploadFunc         func(ctx context.Context, owner string, r io.Reader, filename, contentType string) (api.Upload, error)
	OpenArtifactFunc   func(ctx context.Context, owner, id string) (httpapi.Artifact, error)
	LinkArtifactFunc   func(ctx context.Context, owner, id string, expires time.Duration) (api.ArtifactLink, error)
	BackendsFunc       func(ctx context.Context) ([]api.Backend, error)
	// The backend admin calls; see backends.go.
	AddBackendFunc    func(ctx context.Context, req api.AddBackendRequest) (api.Backend, error)
	RemoveBackendFunc func(ctx context.Context, id string) error
	DrainBackendFunc  func(ctx context.Context, id string) (api.Backend, error)
	ResumeBackendFunc func(ctx context.Context, id string) (api.Backend, error)
	TestBackendFunc   func(ctx context.Context, url string) (api.BackendProbe, error)
	ReadyFunc         func(ctx context.Context) error
}

var _ httpapi.Service = (*Service)(nil)

func (s *Service) SubmitJob(ctx context.Context, owner string, req api.SubmitJobRequest, key string) (api.Job, bool, error) {
	if s.SubmitJobFunc == nil {
		return api.Job{}, false, ErrNotImplemented
	}
	return s.SubmitJobFunc(ctx, owner, req, key)
}

func (s *Service) GetJob(ctx context.Context, owner, id string) (api.Job, error) {
	if s.GetJobFunc == nil {
		return api.Job{}, ErrNotImplemented
	}
	return s.GetJobFunc(ctx, owner, id)
}

func (s *Service) ListJobs(ctx context.Context, owner string, q api.JobQuery) (api.JobList, error) {
	if s.ListJobsFunc == nil {
		return api.JobList{}, ErrNotImplemented
	}
	return s.ListJobsFunc(ctx, owner, q)
}

func (s *Service) CancelJob(ctx context.Context, owner, id string) (api.Job, error) {
	if s.CancelJobFunc == nil {
		return api.Job{}, ErrNotImplemented
	}
	return s.CancelJobFunc(ctx, owner, id)
}

func (s *Service) DeleteJob(ctx context.Context, owner, id string) error {
	if s.DeleteJobFunc == nil {
		return ErrNotImplemented
	}
	return s.DeleteJobFunc(ctx, owner, id)
}

func (s *Service) WaitJob(ctx context.Context, owner, id string) (api.Job, error) {
	if s.WaitJobFunc == nil {
		return api.Job{}, ErrNotImplemented
	}
	return s.WaitJobFunc(ctx, owner, id)
}

func (s *Service) SubscribeJob(ctx context.Context, owner, jobID, lastEventID string) (httpapi.Stream, error) {
	if s.SubscribeJobFunc == nil {
		return nil, ErrNotImplemented
	}
	return s.SubscribeJobFunc(ctx, owner, jobID, lastEventID)
}

func (s *Service) SubscribeOwner(ctx context.Context, owner string) (httpapi.Stream, error) {
	if s.SubscribeOwnerFunc == nil {
		return nil, ErrNotImplemented
	}
	return s.SubscribeOwnerFunc(ctx, owner)
}

func (s *Service) PutWorkflow(ctx context.Context, owner, name string, body []byte) (api.Workflow, bool, error) {
	if s.PutWorkflowFunc == nil {
		return api.Workflow{}, false, ErrNotImplemented
	}
	return s.PutWorkflowFunc(ctx, owner, name, body)
}

func (s *Service) GetWorkflow(ctx context.Context, owner, name string) (api.Workflow, error) {
	if s.GetWorkflowFunc == nil {
		return api.Workflow{}, ErrNotImplemented
	}
	return s.GetWorkflowFunc(ctx, owner, name)
}

func (s *Service) ListWorkflows(ctx context.Context, owner string) ([]api.Workflow, error) {
	if s.ListWorkflowsFunc == nil {
		return nil, ErrNotImplemented
	}
	return s.ListWorkflowsFunc(ctx, owner)
}

func (s *Service) DeleteWorkflow(ctx context.Context, owner, name string) error {
	if s.DeleteWorkflowFunc == nil {
		return ErrNotImplemented
	}
	return s.DeleteWorkflowFunc(ctx, owner, name)
}

func (s *Service) Upload(ctx context.Context, owner string, r io.Reader, filename, contentType string) (api.Upload, error) {
	if s.UploadFunc == nil {
		return api.Upload{}, ErrNotImplemented
	}
	return s.UploadFunc(ctx, owner, r, filename, contentType)
}

func (s *Service) OpenArtifact(ctx context.Context, owner, id string) (httpapi.Artifact, error) {
	if s.OpenArtifactFunc == nil {
		return nil, ErrNotImplemented
	}
	return s.OpenArtifactFunc(ctx, owner, id)
}

func (s *Service) LinkArtifact(ctx context.Context, owner, id string, expires time.Duration) (api.ArtifactLink, error) {
	if s.LinkArtifactFunc == nil {
		return api.ArtifactLink{}, ErrNotImplemented
	}
	return s.LinkArtifactFunc(ctx, owner, id, expires)
}

func (s *Service) Backends(ctx context.Context) ([]api.Backend, error) {
	if s.BackendsFunc == nil {
		return nil, ErrNotImplemented
	}
	return s.BackendsFunc(ctx)
}

func (s *Service) Ready(ctx context.Context) error {
	if s.ReadyFunc == nil {
		return ErrNotImplemented
	}
	return s.ReadyFunc(ctx)
}
