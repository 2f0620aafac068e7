package job

import (
	"context"
	"encoding/json"
	"time"
)

// ComfyFile is one file name the ComfyUI-compatible surface shows: an
// upload, or an output of a job. Names live in per-owner namespaces that
// mirror ComfyUI's input, output and temp directories, so that several
// backends writing "ComfyUI_00001_.png" never collide, and one key never
// sees another's files.
type ComfyFile struct {
	Owner     string `json:"owner,omitempty"`
	Type      string `json:"type"` // "input", "output" or "temp"
	Subfolder string `json:"subfolder,omitempty"`
	Filename  string `json:"filename"`
	// Prefix and Counter split a SaveImage-style name "<prefix>_<counter>_.ext"
	// so the next counter of a prefix is one query away; Counter is 0 for
	// names without a counter.
	Prefix  string `json:"prefix,omitempty"`
	Counter int    `json:"counter,omitempty"`
	// ArtifactID is the blob of an upload. Outputs leave it empty: their
	// blob is the job's output whose backend name is Origin*.
	ArtifactID string `json:"artifact_id,omitempty"`
	JobID      string `json:"job_id,omitempty"`
	// Backend and Origin* name the file on the backend that wrote it.
	Backend         string    `json:"backend,omitempty"`
	OriginType      string    `json:"origin_type,omitempty"`
	OriginSubfolder string    `json:"origin_subfolder,omitempty"`
	OriginFilename  string    `json:"origin_filename,omitempty"`
	CreatedAt       time.Time `json:"created_at"`
}

// ComfyFileFilter selects ComfyFiles for ListComfyFiles: Owner always;
// JobID, or else Type and Subfolder (a directory listing).
type ComfyFileFilter struct {
	Owner     string
	JobID     string
	Type      string
	Subfolder string
	// Limit bounds the result: <= 0 means DefaultListLimit, capped at
	// MaxComfyFileLimit.
	Limit int
}

// MaxComfyFileLimit caps one ListComfyFiles answer (a directory listing for
// LoadImage's file list).
const MaxComfyFileLimit = 10000

// ComfyFileStore keeps the ComfyUI-compatible surface's file names. The
// SQL stores implement it next to Store; the rules of Store (ctx, fresh
// copies, errors, microsecond UTC times) apply.
type ComfyFileStore interface {
	// CreateComfyFile stores f under its (Owner, Type, Subfolder, Filename)
	// or fails with ErrConflict when that name is taken. A zero CreatedAt
	// is set to now. Empty Type or Filename: ErrInvalid.
	CreateComfyFile(ctx context.Context, f *ComfyFile) error
	// PutComfyFile stores f, replacing whatever had its name (an upload
	// with overwrite).
	PutComfyFile(ctx context.Context, f *ComfyFile) error
	// GetComfyFile returns the file with that name, or ErrNotFound.
	GetComfyFile(ctx context.Context, owner, typ, subfolder, filename string) (*ComfyFile, error)
	// FindComfyFile returns the newest file of owner that backend wrote as
	// (typ, subfolder, filename), or ErrNotFound.
	FindComfyFile(ctx context.Context, owner, backend, typ, subfolder, filename string) (*ComfyFile, error)
	// ListComfyFiles returns files matching f, oldest first.
	ListComfyFiles(ctx context.Context, f ComfyFileFilter) ([]*ComfyFile, error)
	// LastComfyCounter returns the highest Counter of prefix in the
	// directory, 0 if none.
	LastComfyCounter(ctx context.Context, owner, typ, subfolder, prefix string) (int, error)
	NamesWithUpdate
}

// NamesWithUpdate stores names in the transaction of a job update, so that
// the names of a job's outputs need no commit of their own.
type NamesWithUpdate interface {
	// UpdateJobWithNames is Store.UpdateJobWithEvents that also creates
	// names, each as CreateComfyFile would, in the same transaction. A
	// name that is taken is not stored and does not fail the rest: those
	// names are returned (taken) for the caller to store under another.
	// An invalid name (ErrInvalid) stores nothing.
	UpdateJobWithNames(ctx context.Context, id string, fn func(*Job) ([]Event, error), names []*ComfyFile, arts ...*Artifact) (j *Job, evs []Event, taken []*ComfyFile, err error)
}

// ComfyFileLimit applies ListComfyFiles' default and cap to limit.
func ComfyFileLimit(limit int) int { return clampLimit(limit, DefaultListLimit, MaxComfyFileLimit) }

// ComfyMeta is what the ComfyUI-compatible surface keeps about a job beyond
// the job's own fields (the Job.Comfy record). The submit use case writes it
// for jobs of that surface; the surface reads it and marks entries hidden.
type ComfyMeta struct {
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
	// Inputs are the file inputs the client named by its own file names,
	// which the graph now names by staged artifact (node id → input →
	// client value).
	Inputs map[string]map[string]string `json:"inputs,omitempty"`
	// Superseded: a later prompt reused this prompt_id; ComfyUI's history
	// keeps only the latest run under an id.
	Superseded bool `json:"superseded,omitempty"`
	// Hidden: deleted from /history by POST /history.
	Hidden bool `json:"hidden,omitempty"`
}

// ComfyMetaOf reads j's ComfyMeta; a job without one (or with a record this
// version cannot read) has the zero value.
func ComfyMetaOf(j *Job) ComfyMeta {
	var m ComfyMeta
	if len(j.Comfy) > 0 {
		_ = json.Unmarshal(j.Comfy, &m)
	}
	return m
}

// Raw is m as stored in Job.Comfy.
func (m ComfyMeta) Raw() json.RawMessage {
	b, _ := json.Marshal(m) // plain fields: cannot fail
	return b
}

// PromptIDFor is the prompt_id a client sees for j, whose record m is.
func (m ComfyMeta) PromptIDFor(j *Job) string {
	if m.PromptID != "" {
		return m.PromptID
	}
	return j.ID
}
