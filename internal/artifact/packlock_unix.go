//go:build unix

package artifact

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// ErrDirInUse: another process (or another open store) has the local
// store's pack directory: appends from two would interleave.
var ErrDirInUse = errors.New("artifact directory is in use by another store")

// packLock is an advisory lock on a pack directory. The kernel drops it
// when the process dies, even by kill -9.
type packLock struct{ f *os.File }

func lockPacks(dir string) (*packLock, error) {
	path := filepath.Join(dir, "lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("lock %s: %w", dir, ErrDirInUse)
		}
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return &packLock{f: f}, nil
}

func (l *packLock) release() error { return l.f.Close() }
