package job

import (
	"context"
	"time"
)

// Store is the persistence contract for jobs, their events, workflows and
// artifact metadata. internal/store/sqlite and internal/store/postgres
// implement it and must both pass internal/store/storetest.
//
// Common rules:
//   - Every method takes ctx first; a write that returned nil is durable.
//     A write whose ctx has ended before it started is not applied and
//     returns ctx's error (errors.Is(err, context.Canceled)); if ctx ends
//     while the write is in flight, it may still commit.
//   - Errors match the sentinels of this package with errors.Is (ErrNotFound,
//     ErrConflict, …); other errors are engine failures.
//   - Returned values are fresh copies: callers may modify them freely.
//   - Times are stored with microsecond precision and returned in UTC.
//   - JSON fields (json.RawMessage) must be empty or valid JSON and are
//     returned byte for byte as given; otherwise ErrInvalid.
//   - After Close every method returns ErrClosed.
//   - The outbox rule (see WebhookStore): every method that appends a
//     durable event the job's webhook wants (WantsWebhook) also stores its
//     webhook message, in the same transaction.
type Store interface {
	// CreateJob stores a new job durably before returning and returns it as
	// stored: Seq assigned, EventSeq 0, ID defaulted to a new UUID v4 when
	// empty, State defaulted to StateQueued, CreatedAt defaulted to now and
	// UpdatedAt set to CreatedAt. j itself is not modified.
	//
	// If j.IdempotencyKey != "" and a job with the same (Owner,
	// IdempotencyKey) exists, nothing is stored and:
	//   - with the same RequestHash it returns (existing, true, nil): a replay;
	//   - otherwise it returns *IdempotencyMismatchError (ErrIdempotencyMismatch).
	// This holds for concurrent creates too: exactly one of them stores a job.
	// A job with the same ID (and no matching idempotency key) fails with
	// ErrDuplicateID. An invalid State or JSON field fails with ErrInvalid.
	CreateJob(ctx context.Context, j *Job) (stored *Job, replayed bool, err error)

	// CreateJobWithEvent is CreateJob plus, when e is non-nil, the append of
	// e as the job's first event in the same transaction: both are stored
	// or neither, with one durable commit. It is how a job is submitted
	// (its "queued" event) without a second commit.
	//
	// The stored job has EventSeq 1 and the returned event has the new
	// job's ID as JobID, Seq 1, and a zero Time set to the store's now; e
	// itself is not modified. An invalid event (empty Type, Data that is
	// not JSON) fails with ErrInvalid and stores nothing.
	//
	// On an idempotent replay (see CreateJob) nothing is stored: it returns
	// the existing job as stored, replayed == true and a nil event. Every
	// error case of CreateJob applies unchanged. With e == nil it is
	// CreateJob, returning a nil event.
	CreateJobWithEvent(ctx context.Context, j *Job, e *Event) (stored *Job, replayed bool, first *Event, err error)

	// CreateJobThenUpdate is CreateJobWithEvent(j, e) followed, in the
	// same transaction, by UpdateJobWithEvent(fn) on the job it created:
	// both are stored or neither, with one durable commit and without
	// reading the new job back. It lets a submission that finds a free
	// backend be stored already dispatched, its first event and the
	// dispatch's event in order.
	//
	// fn is called once, before the transaction, on the job as it is
	// about to be created (Seq not assigned yet); the rules of UpdateJob's
	// fn apply to what it changes (identity and store-owned fields are
	// kept, its State must be one CanTransition allows from j's, and
	// UpdatedAt is set to the store's now), and its event, if any, is
	// stored as the job's second. An error from fn stores nothing and is
	// returned unchanged. e must not be nil (ErrInvalid). On an
	// idempotent replay nothing is stored and fn's changes are dropped:
	// it returns the existing job as Created, with Replayed. Every error
	// case of CreateJobWithEvent applies unchanged. Each event's webhook
	// message (the outbox rule) shows the job as that event left it.
	CreateJobThenUpdate(ctx context.Context, j *Job, e *Event, fn func(*Job) (*Event, error)) (Creation, error)

	// GetJob returns the job with id, or ErrNotFound.
	GetJob(ctx context.Context, id string) (*Job, error)
	// JobOwner returns the owner of the job with id, or ErrNotFound: the
	// owner check of a caller that needs nothing else of the job (its
	// graph may be large).
	JobOwner(ctx context.Context, id string) (string, error)
	// JobUpdatedAt returns the UpdatedAt of the job with id, or
	// ErrNotFound: whether a copy of the job read earlier is still
	// current, without reading the job again.
	JobUpdatedAt(ctx context.Context, id string) (time.Time, error)

	// ListJobs returns one page of jobs matching f, ordered by Seq (newest
	// first unless f.Order is OrderAsc), and the cursor of the next page, ""
	// after the last one. Pages are stable under concurrent inserts: a job is
	// never returned twice, and no job that existed when the first page was
	// read is skipped. A malformed cursor or unknown state fails with
	// ErrInvalid.
	ListJobs(ctx context.Context, f JobFilter) (jobs []*Job, next string, err error)

	// UpdateJob is a transactional read-modify-write of one job: it loads
	// the job, locks it against every other writer for the duration, calls
	// fn, and stores the result. fn must be quick, must not block on other
	// goroutines and must not call the Store: the lock is held (on SQLite
	// the single writer's, and fn may run on another caller's goroutine).
	// A panic in fn fails the update; whether it propagates depends on the
	// engine.
	//
	// An error from fn aborts the update and is returned unchanged (not
	// wrapped), so fn may return ErrConflict to lose a compare-and-set:
	//
	//	claimed, err := s.UpdateJob(ctx, id, func(j *job.Job) error {
	//		if j.State != job.StateQueued {
	//			return job.ErrConflict
	//		}
	//		j.Backend = "gpu-1"
	//		return j.TransitionTo(job.StateDispatched, now)
	//	})
	//
	// Two concurrent claims of one job never both succeed. Changes fn makes
	// to ID, Seq, EventSeq, Owner, IdempotencyKey, RequestHash and CreatedAt
	// are ignored; UpdatedAt is set to the store's now. If fn changed State
	// to one CanTransition does not allow, the update fails with a
	// *TransitionError. Unknown id: ErrNotFound (fn is not called).
	//
	// fn may replace the JSON fields (Graph, Params, …) but must not modify
	// their bytes in place: a field that still holds the bytes the store
	// loaded is unchanged, so a transition does not re-validate, copy or
	// rewrite the graph.
	UpdateJob(ctx context.Context, id string, fn func(*Job) error) (*Job, error)

	// UpdateJobWithEvent is UpdateJob plus, if fn returns a non-nil event,
	// the append of that event in the same transaction: both are stored or
	// neither. The event's JobID is set to id, its Seq to the job's next
	// event number (EventSeq+1) and a zero Time to the store's now; the
	// stored event is returned (nil if fn returned none).
	UpdateJobWithEvent(ctx context.Context, id string, fn func(*Job) (*Event, error)) (*Job, *Event, error)

	// UpdateJobWithEvents is UpdateJobWithEvent for any number of events,
	// plus artifact records: the events fn returns are appended in order,
	// numbered EventSeq+1, EventSeq+2, …, and arts are recorded as by
	// PutArtifact, all in the same transaction as the update; the stored
	// events are returned (nil when fn returned none). If fn fails, or one
	// event or artifact is invalid (ErrInvalid), nothing is stored. It lets
	// a run record its outputs and its end in one commit.
	UpdateJobWithEvents(ctx context.Context, id string, fn func(*Job) ([]Event, error), arts ...*Artifact) (*Job, []Event, error)

	// AppendEvent stores e as the next durable event of job jobID and
	// returns it with JobID, Seq and (if zero) Time filled in. Concurrent
	// appends get distinct, gap-free sequence numbers 1, 2, 3… per job.
	// Unknown job: ErrNotFound.
	AppendEvent(ctx context.Context, jobID string, e Event) (Event, error)

	// ListEvents returns up to limit events of jobID with Seq > afterSeq in
	// ascending Seq. limit <= 0 means DefaultEventLimit; it is capped at
	// MaxEventLimit. Unknown job: ErrNotFound.
	ListEvents(ctx context.Context, jobID string, afterSeq int64, limit int) ([]Event, error)

	// DispatchOrder returns up to limit dispatchable jobs (queued or
	// retrying) in the scheduler's order: Priority descending, then Seq
	// ascending. limit <= 0 means DefaultListLimit; it is capped at
	// MaxListLimit. Served by an index.
	DispatchOrder(ctx context.Context, limit int) ([]*Job, error)

	// ActiveJobs returns every dispatched or running job in Seq order: the
	// jobs crash recovery re-attaches to their backends. Served by an index.
	ActiveJobs(ctx context.Context) ([]*Job, error)

	// QueuePosition returns how many dispatchable jobs are ahead of job id
	// in DispatchOrder (0 = next). ErrNotFound for an unknown id; ErrConflict
	// if the job is not queued or retrying.
	QueuePosition(ctx context.Context, id string) (int, error)

	// QueueKeys returns the (Priority, Seq) of up to limit dispatchable
	// jobs, in DispatchOrder: the shape of the whole queue in a few bytes a
	// job, from which queue positions are counted without a query per job.
	// limit <= 0 means DefaultQueueKeys; it is capped at MaxQueueKeys.
	// Served by the dispatch index alone.
	QueueKeys(ctx context.Context, limit int) ([]QueueKey, error)

	// CountByState returns the number of jobs in each state; states with no
	// jobs are absent.
	CountByState(ctx context.Context) (map[State]int, error)

	// Workflows live in namespaces, one per Owner: "" is the shared one
	// (every caller reads it), any other is one API key's own. The rules
	// of who writes which are the gateway's; the store keeps each
	// (Owner, Name) apart, versions included.

	// PutWorkflow stores w as the latest version of w.Name in w.Owner's
	// namespace and returns the stored version. A "" Version is computed
	// with WorkflowVersion. changed is true when the latest version of the
	// name is now different from before the call (a new name, a new
	// version, or a return to an older one); a put of the current latest
	// version only updates its Description and UpdatedAt, and returns
	// changed == false. Versions are never rewritten otherwise: Graph and
	// Params of an existing (Owner, Name, Version) are kept. Empty Name or
	// Graph: ErrInvalid.
	PutWorkflow(ctx context.Context, w *Workflow) (stored *Workflow, changed bool, err error)

	// GetWorkflow returns version of the named workflow of owner's
	// namespace, or its latest version when version == "". ErrNotFound if
	// there is no such version, or, for version == "", if the name does
	// not exist or was deleted. Explicit versions stay readable after
	// DeleteWorkflow (jobs refer to them).
	GetWorkflow(ctx context.Context, owner, name, version string) (*Workflow, error)

	// ListWorkflows returns the latest version of every workflow of
	// owner's namespace that was not deleted, ordered by name.
	ListWorkflows(ctx context.Context, owner string) ([]*Workflow, error)

	// DeleteWorkflow removes the name from owner's namespace: it is no
	// longer listed and has no latest version, while its versions are kept
	// for the jobs that ran them. Putting the name again revives it.
	// Unknown name: ErrNotFound.
	DeleteWorkflow(ctx context.Context, owner, name string) error

	// PutArtifact records artifact metadata: that Owner holds the blob ID
	// (as an upload, or as an output of JobID). It is idempotent on
	// (ID, Owner, JobID, NodeID, Filename): a second put of the same key is
	// a no-op that keeps the first record. The same blob put by two owners
	// is two records, one each. A zero CreatedAt is set to now. Empty ID:
	// ErrInvalid.
	PutArtifact(ctx context.Context, a *Artifact) error

	// GetArtifact returns the first record stored for blob id, whoever
	// holds it, or ErrNotFound.
	GetArtifact(ctx context.Context, id string) (*Artifact, error)

	// GetOwnedArtifact returns the first record of blob id held by owner,
	// or ErrNotFound when owner holds no record of it (even if others do):
	// ownership is a relation between owners and blobs, so the same bytes
	// stored by two owners are each one's. Served by an index.
	GetOwnedArtifact(ctx context.Context, id, owner string) (*Artifact, error)

	// ListArtifacts returns the artifacts recorded for jobID in the order
	// they were put (empty, not an error, when there are none).
	ListArtifacts(ctx context.Context, jobID string) ([]*Artifact, error)

	// DeleteJob removes a finished job for good, in one transaction: the
	// job, its events, its artifact records, and the ComfyUI-compatible
	// file names of its outputs (see ComfyFileStore). A job in a state that
	// is not terminal is left alone and fails with ErrConflict (wrapped
	// with the state); unknown id: ErrNotFound.
	//
	// Blobs are shared by content, so the store does not delete any: it
	// returns, sorted, the blob ids among the job's artifact records and
	// inputs (the blobs the caller read from the job's graph) that no
	// artifact record and no ComfyUI-compatible file name references any
	// more, which the caller may remove from the blob store. Its
	// idempotency key is free again afterwards.
	DeleteJob(ctx context.Context, id string, inputs []string) (unreferenced []string, err error)

	// JobsFinishedBefore returns the ids of up to limit terminal jobs that
	// finished before t, oldest first: what a retention sweep deletes next.
	// limit <= 0 means DefaultListLimit; it is capped at MaxListLimit.
	// Served by an index of finished jobs.
	JobsFinishedBefore(ctx context.Context, t time.Time, limit int) ([]string, error)

	// Ping checks that the database answers.
	Ping(ctx context.Context) error

	// Close releases the store, waiting for writes in flight. It is safe to
	// call more than once.
	Close() error
}

// Creation is what CreateJobThenUpdate stored.
type Creation struct {
	// Created is the job as its first event left it; on a replay, the
	// job stored before.
	Created *Job
	// First is the job's first event; nil on a replay.
	First *Event
	// Updated is the job after fn, as stored; nil on a replay.
	Updated *Job
	// Next is fn's event as stored; nil when fn returned none, or on a
	// replay.
	Next *Event
	// Replayed: the idempotency key was used before with the same
	// request, and nothing was stored.
	Replayed bool
}

// QueueKey is where a dispatchable job stands in DispatchOrder.
type QueueKey struct {
	Priority int
	Seq      int64
}

// Before reports whether a job at k is dispatched before one at o:
// DispatchOrder's order.
func (k QueueKey) Before(o QueueKey) bool {
	if k.Priority != o.Priority {
		return k.Priority > o.Priority
	}
	return k.Seq < o.Seq
}

// Order is the direction of a job listing.
type Order string

// Orders of ListJobs. The zero value is OrderDesc.
const (
	OrderDesc Order = "desc" // newest first
	OrderAsc  Order = "asc"  // oldest first
)

// Limits of list methods.
const (
	DefaultListLimit  = 100
	MaxListLimit      = 1000
	DefaultEventLimit = 1000
	MaxEventLimit     = 10000
	DefaultQueueKeys  = 100_000
	MaxQueueKeys      = 10_000_000
)

// JobFilter selects jobs for ListJobs. Zero fields do not filter.
type JobFilter struct {
	Owner    string
	States   []State // any of these
	Workflow string
	Source   string
	ClientID string
	// CreatedAfter keeps jobs created strictly after this time.
	CreatedAfter time.Time
	// Limit is the page size: <= 0 means DefaultListLimit, capped at MaxListLimit.
	Limit int
	// Cursor is the next value of a previous page with the same filter and
	// order, "" for the first page.
	Cursor string
	Order  Order
	// Lean leaves the large parts of each job out of the page (Params,
	// Graph, ExtraData and ComfyHistory are nil): for listings that walk
	// many jobs and load the few they show one at a time.
	Lean bool
}

// PageLimit returns f.Limit after applying the default and the cap.
func (f JobFilter) PageLimit() int { return clampLimit(f.Limit, DefaultListLimit, MaxListLimit) }

// QueueKeysLimit applies QueueKeys' default and cap to limit.
func QueueKeysLimit(limit int) int { return clampLimit(limit, DefaultQueueKeys, MaxQueueKeys) }

// EventLimit applies ListEvents' default and cap to limit.
func EventLimit(limit int) int { return clampLimit(limit, DefaultEventLimit, MaxEventLimit) }

func clampLimit(n, def, max int) int {
	switch {
	case n <= 0:
		return def
	case n > max:
		return max
	}
	return n
}
