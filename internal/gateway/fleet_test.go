package gateway

import (
	"context"
	"sync"

	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/workflow"
)

// fakeFleet is a hand-written Fleet: a catalog, a record of enqueued ids,
// and overridable behaviour.
type fakeFleet struct {
	catalog      *workflow.Catalog
	ready        bool
	CancelFunc   func(ctx context.Context, id string) (*job.Job, error)
	RunnableFunc func(g workflow.Graph) error
	mu           sync.Mutex // guards enqueued
	enqueued     []string
}

func (f *fakeFleet) Enqueue(j *job.Job) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.enqueued = append(f.enqueued, j.ID)
}

func (f *fakeFleet) Enqueued() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.enqueued...)
}

func (f *fakeFleet) Cancel(ctx context.Context, id string) (*job.Job, error) {
	return f.CancelFunc(ctx, id)
}

func (f *fakeFleet) Catalog() *workflow.Catalog { return f.catalog }

func (f *fakeFleet) CheckRunnable(g workflow.Graph) error {
	if f.RunnableFunc != nil {
		return f.RunnableFunc(g)
	}
	return nil
}

func (f *fakeFleet) Ready() bool         { return f.ready }
func (f *fakeFleet) Backends() []Backend { return nil }
