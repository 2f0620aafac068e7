package comfyapi

import (
	"context"
	"errors"

	"github.com/comfygate/comfygate/internal/gateway"
	"github.com/comfygate/comfygate/internal/job"
)

// errNoJob: no job of the caller's has that prompt_id.
var errNoJob = errors.New("no such prompt")

// findJob returns the caller's latest job with prompt_id promptID, found
// by the use cases (whose owner check hides other keys' jobs; without keys
// there is one namespace, as in ComfyUI), or among the jobs that ended
// lately.
func (h *Handler) findJob(ctx context.Context, owner, promptID string) (*job.Job, job.ComfyMeta, error) {
	if j := h.currentEnded(ctx, owner, promptID); j != nil {
		return j, job.ComfyMetaOf(j), nil
	}
	j, err := h.gw.JobByPromptID(ctx, owner, promptID)
	if errors.Is(err, gateway.ErrNotFound) {
		return nil, job.ComfyMeta{}, errNoJob
	}
	if err != nil {
		return nil, job.ComfyMeta{}, err
	}
	return j, job.ComfyMetaOf(j), nil
}
