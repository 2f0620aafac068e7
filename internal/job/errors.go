package job

import (
	"errors"
	"fmt"
)

// Sentinels callers branch on with errors.Is. Stores wrap them with context;
// HTTP surfaces map them to status codes.
var (
	// ErrNotFound: no job, workflow, version or artifact with that key.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the stored state does not allow the operation, such as a
	// claim of a job that is no longer queued (a lost compare-and-set).
	ErrConflict = errors.New("conflict")
	// ErrIdempotencyMismatch: an idempotency key was reused with a different
	// request. The concrete error is *IdempotencyMismatchError.
	ErrIdempotencyMismatch = errors.New("idempotency key reused with a different request")
	// ErrIllegalTransition: a move the state machine forbids. The concrete
	// error is *TransitionError.
	ErrIllegalTransition = errors.New("illegal state transition")
	// ErrDuplicateID: a job with this ID already exists.
	ErrDuplicateID = errors.New("duplicate job id")
	// ErrInvalid: an argument is malformed (bad cursor, unknown state, empty
	// name, invalid JSON); the wrapping message names the field.
	ErrInvalid = errors.New("invalid argument")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store closed")
)

// IdempotencyMismatchError is returned by CreateJob when (Owner,
// IdempotencyKey) already names a job created from a different request.
type IdempotencyMismatchError struct {
	Key   string // the reused idempotency key
	JobID string // the job the key already belongs to
}

func (e *IdempotencyMismatchError) Error() string {
	return fmt.Sprintf("idempotency key %q was already used for job %s with a different request", e.Key, e.JobID)
}

// Is makes errors.Is(err, ErrIdempotencyMismatch) true.
func (e *IdempotencyMismatchError) Is(target error) bool { return target == ErrIdempotencyMismatch }
