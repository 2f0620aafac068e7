package job

import (
	"context"
	"time"
)

// Backend is a ComfyUI server of the fleet as the store keeps it, so that
// every replica, and every restart, knows the backends added at run time.
// Its lease says which replica drives it: only that one holds the
// backend's WebSocket, sends it jobs and collects their outputs.
type Backend struct {
	ID  string `json:"id"`
	URL string `json:"url"`
	// MaxInflight is how many jobs may be in the backend's hands at once;
	// 0 means the fleet's default.
	MaxInflight int `json:"max_inflight,omitempty"`
	// Draining: an operator asked that it take no new jobs.
	Draining  bool      `json:"draining,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// LeaseOwner is the replica that drives the backend until LeaseUntil,
	// "" when nobody does.
	LeaseOwner string    `json:"lease_owner,omitempty"`
	LeaseUntil time.Time `json:"lease_until,omitzero"`
}

// Leased reports whether someone holds b's lease at now.
func (b *Backend) Leased(now time.Time) bool {
	return b.LeaseOwner != "" && b.LeaseUntil.After(now)
}

// BackendStore keeps the fleet's backends, the leases that give each one to
// exactly one replica, and the replicas' heartbeats. The SQL stores
// implement it next to Store; the rules of Store (ctx, fresh copies,
// sentinel errors, microsecond UTC times) apply.
//
// Times are passed in by the caller (the fleet's clock), so that every
// replica judges leases by the same rule: a lease is held while its Until
// is after now. Replicas are expected to have clocks in step to well
// within a lease's length.
type BackendStore interface {
	// PutBackend stores b, or updates the URL and MaxInflight of the
	// backend with b's ID, keeping its Draining flag and its lease: how a
	// replica declares the backends it was configured with. It returns the
	// backend as stored. Empty ID or URL: ErrInvalid.
	PutBackend(ctx context.Context, b *Backend) (*Backend, error)

	// AddBackend stores a new backend; ErrDuplicateID if its ID is taken.
	// Draining and the lease fields of b are ignored.
	AddBackend(ctx context.Context, b *Backend) (*Backend, error)

	// ListBackends returns every backend with its lease, in the order
	// they were first stored.
	ListBackends(ctx context.Context) ([]*Backend, error)

	// SetBackendDraining sets the backend's Draining flag. Unknown id:
	// ErrNotFound.
	SetBackendDraining(ctx context.Context, id string, draining bool) error

	// DeleteBackend removes the backend and its lease. Unknown id:
	// ErrNotFound.
	DeleteBackend(ctx context.Context, id string) error

	// AcquireBackendLease gives the backend's lease to owner until until,
	// if nobody holds it at now, or owner does (a renewal). It reports
	// whether owner holds it afterwards; unknown ids are not held.
	// Concurrent acquisitions never give one lease to two owners.
	AcquireBackendLease(ctx context.Context, id, owner string, now, until time.Time) (bool, error)

	// RenewBackendLeases extends to until every lease still in owner's
	// name, and returns the ids of those backends (sorted): the ones owner
	// may go on driving. A lease that lapsed but that nobody took is
	// renewed (nobody else drove the backend meanwhile); one another owner
	// took, or that was released, is not. now is when the renewal was
	// asked for.
	RenewBackendLeases(ctx context.Context, owner string, now, until time.Time) ([]string, error)

	// ReleaseBackendLeases ends owner's leases on ids (on every backend
	// when ids is empty) at once, so another replica can take them over
	// without waiting for them to lapse.
	ReleaseBackendLeases(ctx context.Context, owner string, ids ...string) error

	// Heartbeat records that replica id is alive until until, forgets the
	// replicas whose heartbeat lapsed at or before now, and returns the ids
	// of those alive (sorted; id among them): the fleet shares the backends
	// among them.
	Heartbeat(ctx context.Context, id string, now, until time.Time) ([]string, error)

	// Leave forgets replica id at once (a graceful stop).
	Leave(ctx context.Context, id string) error
}
