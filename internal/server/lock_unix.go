//go:build unix

package server

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// ErrDataDirInUse: another comfygate process holds the data directory.
var ErrDataDirInUse = errors.New("data directory is in use by another comfygate process")

// dirLock is an advisory lock on the data directory. Two gateways on one
// SQLite file would share an instance id and adopt each other's jobs; the
// kernel drops the lock when the process dies, even by kill -9, so a crash
// never leaves a stale lock behind.
type dirLock struct{ f *os.File }

func lockDataDir(path string) (*dirLock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock data directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("lock %s: %w", path, ErrDataDirInUse)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &dirLock{f: f}, nil
}

func (l *dirLock) release() error {
	if l == nil {
		return nil
	}
	return l.f.Close() // closing the descriptor releases the flock
}
