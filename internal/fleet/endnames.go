package fleet

import (
	"context"
	"errors"
	"sync"

	"github.com/comfygate/comfygate/internal/job"
)

// EndNames is a surface that names a job's outputs as it shows them (the
// ComfyUI-compatible one) and lets the fleet store those names with the
// job's successful end, so that they need no transaction of their own.
type EndNames interface {
	// TakeEndNames returns the names to store with jobID's end. Names
	// the surface gives the job's outputs afterwards it stores itself.
	TakeEndNames(jobID string) []*job.ComfyFile
	// EndNamesStored is called once for each TakeEndNames: taken are the
	// names the store found taken (stored under no name); err, when not
	// nil, means none was stored.
	EndNamesStored(ctx context.Context, jobID string, taken []*job.ComfyFile, err error)
}

// errNoNames: the store keeps no names with a job update.
var errNoNames = errors.New("the store does not keep names with a job update")

// endNames are the names one run's end stores: what it took from the
// surface and, once its transaction is done, how it went. A nil one
// stores none.
type endNames struct {
	to     EndNames
	jobID  string
	names  []*job.ComfyFile
	taken  []*job.ComfyFile
	err    error
	report sync.Once
}

// takeEndNames takes the surface's names of jobID's outputs.
func (f *Fleet) takeEndNames(jobID string) *endNames {
	if f.cfg.EndNames == nil {
		return nil
	}
	n := &endNames{to: f.cfg.EndNames, jobID: jobID, err: errNoNames}
	n.names = n.to.TakeEndNames(jobID)
	return n
}

// update is the store transaction of the run's end, with the names.
func (n *endNames) update(ctx context.Context, s job.Store, id string, fn func(*job.Job) ([]job.Event, error), arts ...*job.Artifact) (*job.Job, []job.Event, error) {
	ns, ok := s.(job.NamesWithUpdate)
	if n == nil || len(n.names) == 0 || !ok {
		return s.UpdateJobWithEvents(ctx, id, fn, arts...)
	}
	j, evs, taken, err := ns.UpdateJobWithNames(ctx, id, fn, n.names, arts...)
	n.taken, n.err = taken, err
	return j, evs, err
}

// stored tells the surface how its names went, once.
func (n *endNames) stored(ctx context.Context) {
	if n == nil {
		return
	}
	n.report.Do(func() {
		if len(n.names) == 0 {
			n.err = nil // nothing to store: the job's end seals its names
		}
		n.to.EndNamesStored(ctx, n.jobID, n.taken, n.err)
	})
}
