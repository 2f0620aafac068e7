package server

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/internal/artifact"
	"github.com/comfygate/comfygate/internal/fleet"
	"github.com/comfygate/comfygate/internal/gateway"
	"github.com/comfygate/comfygate/internal/httpapi"
	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/workflow"
)

// fleetAdapter is the fleet as the gateway sees it: the two packages keep
// their own types, and this is the one place that converts between them.
// The fleet knows nothing of the wire format: it records and publishes the
// domain's events (internal/job), and its backend status becomes the REST
// api.Backend here (internal/deptest forbids the fleet to import api).
type fleetAdapter struct{ f *fleet.Fleet }

var _ gateway.Fleet = fleetAdapter{}

func (a fleetAdapter) Enqueue(id string) { a.f.Enqueue(id) }

func (a fleetAdapter) Cancel(ctx context.Context, id string) (*job.Job, error) {
	return a.f.Cancel(ctx, id)
}

func (a fleetAdapter) Catalog() *workflow.Catalog { return a.f.Catalog() }

func (a fleetAdapter) CheckRunnable(g workflow.Graph) error { return a.f.CheckRunnable(g) }

func (a fleetAdapter) Ready() bool { return a.f.Ready() }

func (a fleetAdapter) QueuePosition(id string) (int, bool) { return a.f.QueuePosition(id) }

func (a fleetAdapter) Backends() []api.Backend {
	list := a.f.Backends()
	out := make([]api.Backend, 0, len(list))
	for _, b := range list {
		out = append(out, backendView(b))
	}
	return out
}

func backendView(b fleet.BackendStatus) api.Backend {
	v := api.Backend{
		ID: b.ID, URL: b.URL, State: string(b.State), Running: []string{}, Prefetch: b.Waiting,
		Done: b.Done, Failed: b.Failed, LatencyMS: float64(b.Latency.Microseconds()) / 1000,
		Version: b.Version, NodeCount: b.NodeCount, Models: b.Models, LastError: b.LastError,
	}
	if !b.LastErrorAt.IsZero() {
		at := b.LastErrorAt.UTC()
		v.LastErrorAt = &at
	}
	if b.Running != "" {
		v.Running = append(v.Running, b.Running)
	}
	if v.Prefetch == nil {
		v.Prefetch = []string{}
	}
	for _, d := range b.Devices {
		v.Devices = append(v.Devices, api.Device{Name: d.Name, Type: d.Type, VRAMTotal: d.VRAMTotal, VRAMFree: d.VRAMFree})
	}
	return v
}

// blobStore is the artifact store as the fleet sees it.
type blobStore struct{ s artifact.Store }

var _ fleet.ArtifactStore = blobStore{}

func (b blobStore) PutBlob(ctx context.Context, r io.Reader, contentType string) (string, int64, error) {
	info, err := b.s.Put(ctx, r, artifact.PutOptions{ContentType: contentType})
	if err != nil {
		return "", 0, err
	}
	return info.ID, info.Size, nil
}

func (b blobStore) OpenBlob(ctx context.Context, id string) (io.ReadCloser, error) {
	blob, err := b.s.Open(ctx, id)
	if errors.Is(err, artifact.ErrNotFound) {
		return nil, fmt.Errorf("blob %s: %w", id, fleet.ErrBlobNotFound)
	}
	return blob, err
}

// apiService is the gateway as the REST surface sees it: it adapts result
// types to httpapi's interfaces.
type apiService struct {
	*gateway.Service
}

var _ httpapi.Service = (*apiService)(nil)

// The methods below return interfaces; a nil pointer must not become a
// non-nil interface.

func (a *apiService) SubscribeJob(ctx context.Context, owner, jobID, lastEventID string) (httpapi.Stream, error) {
	st, err := a.Service.SubscribeJob(ctx, owner, jobID, lastEventID)
	if err != nil {
		return nil, err
	}
	return st, nil
}

func (a *apiService) SubscribeOwner(ctx context.Context, owner string) (httpapi.Stream, error) {
	st, err := a.Service.SubscribeOwner(ctx, owner)
	if err != nil {
		return nil, err
	}
	return st, nil
}

func (a *apiService) OpenArtifact(ctx context.Context, owner, id string) (httpapi.Artifact, error) {
	art, err := a.Service.OpenArtifact(ctx, owner, id)
	if err != nil {
		return nil, err
	}
	return art, nil
}
