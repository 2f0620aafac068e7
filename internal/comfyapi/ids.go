package comfyapi

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/comfygate/comfygate/internal/job"
)

// comfyMeta is job.Comfy: what the surface keeps about a job beyond the
// job's own fields.
type comfyMeta struct {
	// PromptID is the prompt_id the client knows, when it is not the job
	// id: ComfyUI 0.3.64 takes any string as prompt_id and lets it be
	// reused, while job ids are UUIDs and unique (newer ComfyUI versions
	// behind the fleet insist on UUIDs too).
	PromptID string `json:"prompt_id,omitempty"`
	// Number is ComfyUI's queue number as shown: "3", "-40", or "7.5" for
	// a client's own number (ComfyUI echoes those as floats).
	Number json.Number `json:"number,omitempty"`
	// Client is true when the body had a client_id: its events are then
	// targeted at that socket instead of broadcast.
	Client bool `json:"client,omitempty"`
	// Inputs are the file inputs the client named by upload name, which the
	// graph now names by staged artifact (node id → input → client value).
	Inputs map[string]map[string]string `json:"inputs,omitempty"`
	// Superseded: a later prompt reused this prompt_id; ComfyUI's history
	// keeps only the latest run under an id.
	Superseded bool `json:"superseded,omitempty"`
	// Hidden: deleted from /history by POST /history.
	Hidden bool `json:"hidden,omitempty"`
}

func metaOf(j *job.Job) comfyMeta {
	var m comfyMeta
	if len(j.Comfy) > 0 {
		_ = json.Unmarshal(j.Comfy, &m) // written by this package; a bad value reads as none
	}
	return m
}

func (m comfyMeta) raw() json.RawMessage {
	b, _ := json.Marshal(m) // plain fields: cannot fail
	return b
}

// promptIDOf is the prompt_id a client sees for j.
func promptIDOf(j *job.Job, m comfyMeta) string {
	if m.PromptID != "" {
		return m.PromptID
	}
	return j.ID
}

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

// derivedID is the job id of generation gen of a client's prompt_id: a
// UUID (version 8) of the owner, the id and the generation, so the job of
// any prompt_id is found again from the store alone.
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

// errNoJob: no job of the caller's has that prompt_id.
var errNoJob = errors.New("no such prompt")

// findJob returns the caller's latest job with prompt_id promptID.
func (h *Handler) findJob(ctx context.Context, owner, promptID string) (*job.Job, comfyMeta, error) {
	j, gen, err := h.firstJob(ctx, owner, promptID)
	if err != nil {
		return nil, comfyMeta{}, err
	}
	m := metaOf(j)
	for m.Superseded {
		next, err := h.ownJob(ctx, owner, derivedID(owner, promptID, gen+1))
		if err != nil {
			break // the newer generation is not stored (yet): show this one
		}
		j, m, gen = next, metaOf(next), gen+1
	}
	return j, m, nil
}

// firstJob finds generation 1. A UUID prompt_id that another owner's job
// took first was given a derived id instead.
func (h *Handler) firstJob(ctx context.Context, owner, promptID string) (*job.Job, int, error) {
	j, err := h.ownJob(ctx, owner, firstID(owner, promptID))
	if errors.Is(err, errNoJob) && canonicalUUID(promptID) {
		j, err = h.ownJob(ctx, owner, derivedID(owner, promptID, 1))
	}
	if err != nil {
		return nil, 0, err
	}
	if promptIDOf(j, metaOf(j)) != promptID {
		return nil, 0, errNoJob
	}
	return j, 1, nil
}

// ownJob loads a job the caller owns; other owners' jobs do not exist.
// Without keys there is one namespace, as in ComfyUI.
func (h *Handler) ownJob(ctx context.Context, owner, id string) (*job.Job, error) {
	j, err := h.store.GetJob(ctx, id)
	if errors.Is(err, job.ErrNotFound) || err == nil && h.cfg.multiTenant() && j.Owner != owner {
		return nil, errNoJob
	}
	if err != nil {
		return nil, fmt.Errorf("load job %s: %w", id, err)
	}
	return j, nil
}
