package comfyapi

import (
	"context"
	"sync"

	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/job"
)

// endedJobs are the jobs that ended lately, as their end event carried
// them, by the prompt_id their owner knows: a client asks for a prompt's
// history the moment it ends, and the job is at hand already. A copy is
// used only while the store says the job has not changed since (hidden
// from /history, superseded by a reuse of its prompt_id, or deleted: see
// findJob), which is one column to read instead of the whole job.
type endedJobs struct {
	mu    sync.Mutex // guards the fields below
	jobs  map[promptKey]*job.Job
	order []promptKey
}

type promptKey struct{ owner, promptID string }

// maxEnded bounds the jobs kept, whole (graph and history included): a
// client asks for the history within moments of the end, so a few seconds'
// worth of jobs at a thousand a second is plenty.
const maxEnded = 256

func newEndedJobs() *endedJobs { return &endedJobs{jobs: map[promptKey]*job.Job{}} }

// add remembers the job a terminal event of this replica's carries.
// Another replica's events carry none.
func (e *endedJobs) add(ev events.Event) {
	j := ev.Job
	if j == nil || ev.Relayed || !j.State.Terminal() {
		return
	}
	k := promptKey{j.Owner, job.ComfyMetaOf(j).PromptIDFor(j)}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.jobs[k]; !ok {
		e.order = boundedPush(e.order, k, maxEnded, func(old promptKey) { delete(e.jobs, old) })
	}
	e.jobs[k] = j
}

func (e *endedJobs) get(owner, promptID string) *job.Job {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.jobs[promptKey{owner, promptID}]
}

// current returns the remembered job of owner's promptID if the store
// has it unchanged.
func (h *Handler) currentEnded(ctx context.Context, owner, promptID string) *job.Job {
	j := h.ended.get(owner, promptID)
	if j == nil {
		return nil
	}
	at, err := h.store.JobUpdatedAt(ctx, j.ID)
	if err != nil || !at.Equal(j.UpdatedAt) {
		return nil
	}
	return j
}
