package job

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"time"
)

// Event is a durable job lifecycle event (queued, dispatched, succeeded, …).
// Seq numbers a job's events 1, 2, 3… without gaps so a reconnecting client
// resumes after the last one it saw. Progress and previews are not stored.
type Event struct {
	JobID string          `json:"job_id"`
	Seq   int64           `json:"seq"`
	Type  string          `json:"type"`
	Data  json.RawMessage `json:"data,omitempty"`
	Time  time.Time       `json:"time"`
}

// Workflow is one version of a stored workflow: an API-format graph plus its
// parameter spec. Versions are kept; a job records the version it ran.
type Workflow struct {
	// Owner is the namespace the workflow lives in: "" for the shared one
	// (the watched directory, admin keys, or everyone when authentication
	// is off), else the API key id that wrote it.
	Owner string `json:"owner,omitempty"`
	Name  string `json:"name"`
	// Version is the content hash of Graph and Params (see WorkflowVersion).
	Version     string          `json:"version"`
	Graph       json.RawMessage `json:"graph"`
	Params      json.RawMessage `json:"params,omitempty"` // parameter spec
	Description string          `json:"description,omitempty"`
	// CreatedAt is when this version was first stored, UpdatedAt when a put
	// last touched it.
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// WorkflowVersion returns the content hash that names a workflow version:
// 16 hex digits of SHA-256 over the compacted graph and parameter spec.
// Insignificant whitespace does not change it; key order does, so callers
// that want order-independence marshal through a map first (as
// encoding/json sorts map keys).
func WorkflowVersion(graph, params json.RawMessage) string {
	h := sha256.New()
	for _, part := range []json.RawMessage{graph, params} {
		var buf bytes.Buffer
		if json.Compact(&buf, part) != nil {
			buf.Reset()
			buf.Write(part)
		}
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(buf.Len()))
		h.Write(n[:])
		h.Write(buf.Bytes())
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// Artifact kinds.
const (
	ArtifactOutput = "output" // produced by a job
	ArtifactInput  = "input"  // uploaded by a caller
)

// Artifact is the metadata of a stored file: one owner's claim on a blob.
// The bytes live in the content-addressed blob store under ID; one blob may
// be recorded for several owners, jobs, nodes or file names, and an owner
// may use the blob when it holds a record of it.
type Artifact struct {
	ID          string    `json:"id"` // SHA-256 of the content, lowercase hex
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	CreatedAt   time.Time `json:"created_at"`
	Owner       string    `json:"owner,omitempty"`
	JobID       string    `json:"job_id,omitempty"` // "" for an upload not yet used
	NodeID      string    `json:"node_id,omitempty"`
	Filename    string    `json:"filename,omitempty"`
	Kind        string    `json:"kind"` // ArtifactOutput or ArtifactInput
}
