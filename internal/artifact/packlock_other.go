//go:build !unix

package artifact

import "errors"

// ErrDirInUse: another process (or another open store) has the local
// store's pack directory: appends from two would interleave.
var ErrDirInUse = errors.New("artifact directory is in use by another store")

// packLock is a no-op where flock is not available: one process per
// directory is then up to the operator.
type packLock struct{}

func lockPacks(string) (*packLock, error) { return &packLock{}, nil }

func (*packLock) release() error { return nil }
