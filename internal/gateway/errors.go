package gateway

import (
	"errors"
	"fmt"
	"time"
)

// ErrNotFound is wrapped by every "no such job/workflow/artifact" error.
var ErrNotFound = errors.New("not found")

// InputError is a caller mistake in a request: Field names the offending
// input ("params.steps", "prompt", "overrides.3.inputs.seed").
type InputError struct {
	Field   string
	Problem string
	// NodeErrors carries ComfyUI-style validation errors by node id, when
	// the graph failed validation.
	NodeErrors map[string]any
}

func (e *InputError) Error() string {
	if e.Field == "" {
		return e.Problem
	}
	return fmt.Sprintf("%s: %s", e.Field, e.Problem)
}

// ConflictError is a request that contradicts stored state, such as an
// idempotency key reused with a different body.
type ConflictError struct {
	Code    string
	Message string
}

func (e *ConflictError) Error() string { return e.Message }

// UnrunnableError says no backend of the fleet can run a graph, and why
// (a missing node class or model file).
type UnrunnableError struct {
	Message string
}

func (e *UnrunnableError) Error() string { return e.Message }

// OverloadError asks the caller to come back later.
type OverloadError struct {
	Message    string
	RetryAfter time.Duration
}

func (e *OverloadError) Error() string { return e.Message }

// ForbiddenError is a request for something the caller may not touch.
type ForbiddenError struct {
	Message string
}

func (e *ForbiddenError) Error() string { return e.Message }

// UpstreamError is a ComfyUI server that did not answer as one should:
// unreachable, an HTTP error, or a body that is not ComfyUI's. Message says
// why and is meant for the operator who asked.
type UpstreamError struct {
	Message string
	Err     error
}

func (e *UpstreamError) Error() string { return e.Message }

func (e *UpstreamError) Unwrap() error { return e.Err }
