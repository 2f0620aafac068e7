package gateway

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"

	"github.com/comfygate/comfygate/internal/job"
)

// A caller may choose a job's id (ComfyUI's prompt_id, Submission.PromptID)
// and reuse it, as ComfyUI 0.3.64 allows: the latest run under an id is
// the one its history shows. Job ids are unique UUIDs, so the jobs of one
// owner's prompt_id form generations: generation 1 has the prompt_id
// itself as job id when it is a canonical UUID (so the backends see the id
// the client chose), else a UUID derived from the owner, the prompt_id and
// the generation; every later generation has a derived id. The job of any
// prompt_id is thus found again from the store alone, on every replica,
// and a superseded generation is marked in its ComfyMeta.

// maxGenerations bounds how often one prompt_id may be reused.
const maxGenerations = 1000

// canonicalUUID reports a lowercase hyphenated UUID, the only prompt_id
// form every ComfyUI version accepts.
func canonicalUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}

// derivedID is the job id of generation gen of an owner's prompt_id: a
// UUID (version 8) of the owner, the id and the generation.
func derivedID(owner, promptID string, gen int) string {
	sum := sha256.Sum256([]byte("comfygate-prompt\x00" + owner + "\x00" + promptID + "\x00" + strconv.Itoa(gen)))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x80
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// firstID is the job id of the first generation of promptID.
func firstID(owner, promptID string) string {
	if canonicalUUID(promptID) {
		return promptID
	}
	return derivedID(owner, promptID, 1)
}

// createGeneration stores j with its first event under the id of the next
// free generation of promptID and marks the one before it superseded.
func (s *Service) createGeneration(ctx context.Context, j *job.Job, first *job.Event, promptID string, m job.ComfyMeta) (*job.Job, bool, *job.Event, error) {
	id := firstID(j.Owner, promptID)
	for gen := 1; gen <= maxGenerations; gen++ {
		if id != promptID {
			m.PromptID = promptID
		}
		j.ID, j.Comfy = id, m.Raw()
		stored, replayed, ev, err := s.cfg.Store.CreateJobWithEvent(ctx, j, first)
		if err == nil {
			if gen > 1 && !replayed {
				s.supersede(ctx, j.Owner, promptID, gen-1)
			}
			return stored, replayed, ev, nil
		}
		if !errors.Is(err, job.ErrDuplicateID) {
			return nil, false, nil, s.createError(j.IdempotencyKey, err)
		}
		id = derivedID(j.Owner, promptID, gen+1)
		if gen == 1 && canonicalUUID(promptID) {
			if prev, perr := s.cfg.Store.GetJob(ctx, promptID); perr == nil && prev.Owner != j.Owner {
				id, gen = derivedID(j.Owner, promptID, 1), 0 // another owner's job: start our own chain
			}
		}
	}
	return nil, false, nil, &InputError{Field: "prompt_id", Problem: fmt.Sprintf("%q was used more than %d times", promptID, maxGenerations)}
}

// generationID is the job id of generation gen of promptID.
func generationID(owner, promptID string, gen int) string {
	if gen == 1 {
		return firstID(owner, promptID)
	}
	return derivedID(owner, promptID, gen)
}

func (s *Service) supersede(ctx context.Context, owner, promptID string, gen int) {
	id := generationID(owner, promptID, gen)
	_, err := s.cfg.Store.UpdateJob(ctx, id, func(j *job.Job) error {
		m := job.ComfyMetaOf(j)
		m.Superseded = true
		j.Comfy = m.Raw()
		return nil
	})
	if err != nil {
		s.cfg.Logger.Warn("gateway: marking a reused prompt_id's earlier job failed", "job", id, "err", err)
	}
}

// JobByPromptID returns the owner's latest job with prompt_id promptID
// (the job id, unless the caller chose another), or ErrNotFound.
func (s *Service) JobByPromptID(ctx context.Context, owner, promptID string) (*job.Job, error) {
	j, err := s.firstGeneration(ctx, owner, promptID)
	if err != nil {
		return nil, err
	}
	for gen := 1; job.ComfyMetaOf(j).Superseded; gen++ {
		next, err := s.ownedJob(ctx, owner, derivedID(owner, promptID, gen+1))
		if err != nil {
			break // the newer generation is not stored (yet): show this one
		}
		j = next
	}
	return j, nil
}

// firstGeneration finds generation 1. A UUID prompt_id that another
// owner's job took first was given a derived id instead.
func (s *Service) firstGeneration(ctx context.Context, owner, promptID string) (*job.Job, error) {
	j, err := s.ownedJob(ctx, owner, firstID(owner, promptID))
	if errors.Is(err, ErrNotFound) && canonicalUUID(promptID) {
		j, err = s.ownedJob(ctx, owner, derivedID(owner, promptID, 1))
	}
	if err != nil {
		return nil, err
	}
	if job.ComfyMetaOf(j).PromptIDFor(j) != promptID {
		return nil, fmt.Errorf("prompt %q: %w", promptID, ErrNotFound)
	}
	return j, nil
}
