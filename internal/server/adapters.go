package server

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/comfygate/comfygate/internal/artifact"
	"github.com/comfygate/comfygate/internal/fleet"
	"github.com/comfygate/comfygate/internal/gateway"
	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/workflow"
)

// fleetAdapter is the fleet as the gateway sees it: the two packages keep
// their own types, and this is the one place that converts between them.
// The fleet knows nothing of the wire format: it records and publishes the
// domain's events (internal/job), and its backend status becomes the
// gateway's domain Backend here, which httpapi renders as the REST
// api.Backend (internal/deptest forbids the fleet to import api).
type fleetAdapter struct{ f *fleet.Fleet }

var (
	_ gateway.Fleet    = fleetAdapter{}
	_ gateway.Reserver = fleetAdapter{}
)

func (a fleetAdapter) Enqueue(j *job.Job) { a.f.EnqueueJob(j) }

// Reserve holds a backend slot for a job about to be stored, so that its
// commit stores it dispatched (nil, not a nil *fleet.Reservation, when
// there is none: the gateway then queues the job).
func (a fleetAdapter) Reserve(j *job.Job) gateway.Reservation {
	if r := a.f.Reserve(j); r != nil {
		return r
	}
	return nil
}

func (a fleetAdapter) Cancel(ctx context.Context, id string) (*job.Job, error) {
	return a.f.Cancel(ctx, id)
}

func (a fleetAdapter) Catalog() *workflow.Catalog { return a.f.Catalog() }

func (a fleetAdapter) CheckRunnable(g workflow.Graph) error { return a.f.CheckRunnable(g) }

func (a fleetAdapter) Ready() bool { return a.f.Ready() }

func (a fleetAdapter) Backends() []gateway.Backend {
	list := a.f.Backends()
	out := make([]gateway.Backend, 0, len(list))
	for _, b := range list {
		out = append(out, gateway.Backend{
			ID: b.ID, URL: b.URL, State: string(b.State), Running: b.Running, Waiting: b.Waiting,
			Done: b.Done, Failed: b.Failed, Latency: b.Latency, LastError: b.LastError, LastErrorAt: b.LastErrorAt,
			Version: b.Version, Devices: b.Devices, NodeCount: b.NodeCount, Models: b.Models,
		})
	}
	return out
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
