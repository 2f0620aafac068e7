package comfyapi

import (
	"context"
	"fmt"
	"sync"

	"github.com/comfygate/comfygate/internal/job"
)

// tracker knows which jobs are pending or running, per owner, so that
// ComfyUI's queue_remaining (status broadcasts, GET /prompt) costs no
// query. It counts, per owner, what ComfyUI counts; admission and queue
// positions are the use cases' (internal/gateway). It is
// loaded from the store at Start and kept current from job lifecycle
// events; the surface's own queue changes update it directly.
type tracker struct {
	mu      sync.Mutex // guards the fields below
	byOwner map[string]map[string]job.State
	ownerOf map[string]string
	// gone are jobs that ended recently: a lifecycle event of theirs that
	// arrives late (the surface itself cancelled the job) is ignored.
	gone endedSet
}

func newTracker() *tracker {
	return &tracker{byOwner: map[string]map[string]job.State{}, ownerOf: map[string]string{}, gone: newEndedSet(1 << 14)}
}

// load replaces the tracker's view with the store's active jobs.
func (t *tracker) load(ctx context.Context, s Store) error {
	byOwner := map[string]map[string]job.State{}
	ownerOf := map[string]string{}
	f := job.JobFilter{States: activeStates(), Order: job.OrderAsc, Limit: job.MaxListLimit}
	for {
		page, next, err := s.ListJobs(ctx, f)
		if err != nil {
			return fmt.Errorf("comfyapi: load queue: %w", err)
		}
		for _, j := range page {
			if byOwner[j.Owner] == nil {
				byOwner[j.Owner] = map[string]job.State{}
			}
			byOwner[j.Owner][j.ID] = j.State
			ownerOf[j.ID] = j.Owner
		}
		if next == "" {
			break
		}
		f.Cursor = next
	}
	t.mu.Lock()
	t.byOwner, t.ownerOf = byOwner, ownerOf
	t.mu.Unlock()
	return nil
}

// add records an active job; it reports whether the job was new.
func (t *tracker) add(owner, id string, st job.State) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.gone.has(id) {
		return false
	}
	if _, ok := t.ownerOf[id]; ok {
		t.byOwner[owner][id] = st
		return false
	}
	if t.byOwner[owner] == nil {
		t.byOwner[owner] = map[string]job.State{}
	}
	t.byOwner[owner][id] = st
	t.ownerOf[id] = owner
	return true
}

// remove forgets a job that ended; it reports whether it was there.
func (t *tracker) remove(owner, id string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.gone.add(id)
	if _, ok := t.ownerOf[id]; !ok {
		return false
	}
	delete(t.ownerOf, id)
	delete(t.byOwner[owner], id)
	if len(t.byOwner[owner]) == 0 {
		delete(t.byOwner, owner)
	}
	return true
}

// count is queue_remaining for owner: its pending and running jobs.
func (t *tracker) count(owner string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.byOwner[owner])
}
