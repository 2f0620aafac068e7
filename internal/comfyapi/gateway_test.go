package comfyapi

import (
	"context"
	"testing"

	"github.com/comfygate/comfygate/internal/artifact"
	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/gateway"
	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/internal/store/sqlite"
	"github.com/comfygate/comfygate/workflow"
)

// newTestGateway is the use cases over the test's store, artifacts, hub and
// fleet, with the surface's file names, as the server wires them.
func newTestGateway(tb testing.TB, store *sqlite.Store, arts artifact.Store, hub *events.Hub, fleet gateway.Fleet, names *Names, opts ...func(*gateway.Config)) *gateway.Service {
	tb.Helper()
	cfg := gateway.Config{Store: store, Artifacts: arts, Hub: hub, Fleet: fleet, Names: names}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	svc, err := gateway.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return svc
}

// catalogFleet is a fleet with a catalog and nothing running: enough to
// take prompts.
type catalogFleet struct{ cat *workflow.Catalog }

func (f catalogFleet) Enqueue(*job.Job) {}
func (f catalogFleet) Cancel(ctx context.Context, id string) (*job.Job, error) {
	return nil, job.ErrConflict
}
func (f catalogFleet) Catalog() *workflow.Catalog         { return f.cat }
func (f catalogFleet) CheckRunnable(workflow.Graph) error { return nil }
func (f catalogFleet) Ready() bool                        { return true }
func (f catalogFleet) Backends() []gateway.Backend        { return nil }
