//go:build !unix

package server

import "errors"

// ErrDataDirInUse: another comfygate process holds the data directory.
var ErrDataDirInUse = errors.New("data directory is in use by another comfygate process")

// dirLock is a no-op where flock is not available.
type dirLock struct{}

func lockDataDir(string) (*dirLock, error) { return &dirLock{}, nil }

func (*dirLock) release() error { return nil }
