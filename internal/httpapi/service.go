package httpapi

import (
	"context"
	"io"
	"time"

	"github.com/comfygate/comfygate/api"
)

// Service is what the REST API needs from the use cases. It is declared
// here, where it is consumed, so that this package depends on behaviour and
// tests run against a hand-written fake. Owner is the caller's API key id
// ("" when authentication is off); the service scopes jobs, uploads,
// artifacts and events by it.
type Service interface {
	// SubmitJob stores a new job durably before it returns. A repeated
	// idempotency key with the same body returns the original job and
	// replayed=true.
	SubmitJob(ctx context.Context, owner string, req api.SubmitJobRequest, idempotencyKey string) (job api.Job, replayed bool, err error)
	GetJob(ctx context.Context, owner, id string) (api.Job, error)
	ListJobs(ctx context.Context, owner string, q api.JobQuery) (api.JobList, error)
	CancelJob(ctx context.Context, owner, id string) (api.Job, error)
	// DeleteJob removes a finished job of the owner's with its events and
	// the files only it used; a job that has not ended is a conflict.
	DeleteJob(ctx context.Context, owner, id string) error
	// WaitJob returns when the job is terminal; when ctx is done first it
	// returns the job as it stands and a nil error.
	WaitJob(ctx context.Context, owner, id string) (api.Job, error)
	// SubscribeJob replays the job's events after lastEventID ("" = from
	// the start), then follows live ones; the stream ends after the
	// terminal event.
	SubscribeJob(ctx context.Context, owner, jobID, lastEventID string) (Stream, error)
	// SubscribeOwner follows the live events of all the owner's jobs.
	SubscribeOwner(ctx context.Context, owner string) (Stream, error)

	// PutWorkflow stores body (a bare API graph, a UI-format workflow, or
	// {"graph","params","description"}) under name: the owner's own
	// workflow, or for an admin the shared one. The workflow calls see the
	// owner's own workflows and the shared ones (owner "" of an
	// unauthenticated caller: the shared ones).
	PutWorkflow(ctx context.Context, owner, name string, body []byte) (wf api.Workflow, created bool, err error)
	GetWorkflow(ctx context.Context, owner, name string) (api.Workflow, error)
	ListWorkflows(ctx context.Context, owner string) ([]api.Workflow, error)
	DeleteWorkflow(ctx context.Context, owner, name string) error

	// Upload stores r, which it must read to the end or fail; it is never
	// buffered whole by the transport.
	Upload(ctx context.Context, owner string, r io.Reader, filename, contentType string) (api.Upload, error)
	OpenArtifact(ctx context.Context, owner, id string) (Artifact, error)
	// LinkArtifact presigns a download URL valid for expires (0: the
	// default); a store that cannot presign is a conflict.
	LinkArtifact(ctx context.Context, owner, id string, expires time.Duration) (api.ArtifactLink, error)

	Backends(ctx context.Context) ([]api.Backend, error)
	// AddBackend adds a ComfyUI server (the id is chosen when req.ID is
	// empty); RemoveBackend drains one and takes it out, moving the jobs
	// still on it elsewhere; DrainBackend and ResumeBackend stop and
	// restart new jobs going to one; TestBackend probes a server without
	// adding it. The transport lets only admins call them.
	AddBackend(ctx context.Context, req api.AddBackendRequest) (api.Backend, error)
	RemoveBackend(ctx context.Context, id string) error
	DrainBackend(ctx context.Context, id string) (api.Backend, error)
	ResumeBackend(ctx context.Context, id string) (api.Backend, error)
	TestBackend(ctx context.Context, url string) (api.BackendProbe, error)
	// Ready is nil when the store answers and at least one backend is
	// healthy; otherwise its message says why (it is shown on /readyz).
	Ready(ctx context.Context) error
}

// Stream is a subscription to events. Events is closed when the stream
// ends; Err then tells why (nil after a terminal event or Close).
type Stream interface {
	Events() <-chan api.Event
	Err() error
	Close()
}

// Artifact is a stored file opened for reading; Seek lets Range requests
// skip ahead without reading what they do not send.
type Artifact interface {
	io.ReadSeekCloser
	Name() string
	ContentType() string
	Size() int64
	ModTime() time.Time
	// ETag is a strong validator, quoted or bare (it is quoted if bare).
	ETag() string
}
