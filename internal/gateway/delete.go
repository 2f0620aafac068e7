package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/comfygate/comfygate/internal/artifact"
	"github.com/comfygate/comfygate/internal/job"
)

// DeleteJob removes a finished job of the caller's for good: the job, its
// events, its artifact records, and the files only it used. Files are
// stored by content, so an output another job also produced, an upload,
// or a file a ComfyUI-compatible name still shows is kept.
//
// A job that has not finished is refused with a ConflictError naming its
// state rather than cancelled on the way: cancelling a running job takes
// the backend's time, and a caller who wants both says so with two calls
// (POST …/cancel, then DELETE once it has ended).
func (s *Service) DeleteJob(ctx context.Context, owner, id string) error {
	j, err := s.ownedJob(ctx, owner, id)
	if err != nil {
		return err
	}
	if !j.State.Terminal() {
		return notFinished(id, j.State)
	}
	_, err = s.deleteJob(ctx, j)
	return err
}

func notFinished(id string, st job.State) error {
	return &ConflictError{Code: "job_not_finished",
		Message: fmt.Sprintf("job %s is %s: cancel it and wait for it to end before deleting it", id, st)}
}

// deleteJob deletes a finished job and the blobs nothing else names, and
// returns how many blobs it removed.
//
// A blob is removed after the records that named it are gone. Content
// being stored again at that moment (an upload or output of the same
// bytes, stored but not yet recorded) can lose its blob to the removal;
// the window is the few milliseconds between a Put and its record.
func (s *Service) deleteJob(ctx context.Context, j *job.Job) (int, error) {
	unreferenced, err := s.cfg.Store.DeleteJob(ctx, j.ID, stagedInputs(j.Graph))
	switch {
	case errors.Is(err, job.ErrNotFound): // deleted meanwhile (another replica's sweep)
		return 0, notFound("job", j.ID, err)
	case errors.Is(err, job.ErrConflict):
		return 0, notFinished(j.ID, j.State)
	case err != nil:
		return 0, fmt.Errorf("delete job %s: %w", j.ID, err)
	}
	removed := 0
	for _, id := range unreferenced {
		// The records are gone: a blob that cannot be removed now is
		// disk space, not an error the caller can act on.
		if err := s.cfg.Artifacts.Delete(ctx, id); err != nil {
			s.cfg.Logger.Warn("gateway: blob of a deleted job not removed", "job", j.ID, "blob", id, "err", err)
			continue
		}
		removed++
	}
	s.cfg.Logger.Info("gateway: job deleted", "job", j.ID, "blobs_removed", removed)
	return removed, nil
}

// stagedInputs returns the blobs a graph's inputs name as staged files
// ("comfygate/<sha256>.<ext>"): the job's inputs, removed with it unless
// an upload or another job still names them.
func stagedInputs(graph json.RawMessage) []string {
	var nodes map[string]struct {
		Inputs map[string]any `json:"inputs"`
	}
	if json.Unmarshal(graph, &nodes) != nil {
		return nil
	}
	var ids []string
	for _, n := range nodes {
		for _, v := range n.Inputs {
			if s, ok := v.(string); ok {
				if id, _, ok := artifact.ParseStaged(s); ok {
					ids = append(ids, id)
				}
			}
		}
	}
	return ids
}
