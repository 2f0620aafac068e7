package server

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strings"
)

var instanceIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// loadInstanceID returns the id kept in path, creating it on first use. A
// stable id lets a restarted gateway recognise the jobs its previous life
// left on the backends as its own and follow them over its socket at once,
// instead of waiting for their leases to lapse.
func loadInstanceID(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		id := strings.TrimSpace(string(b))
		if !instanceIDPattern.MatchString(id) {
			return "", fmt.Errorf("instance id in %s: %q is not 1-64 letters, digits, '.', '_' or '-'", path, id)
		}
		return id, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read instance id: %w", err)
	}
	var r [6]byte
	_, _ = rand.Read(r[:]) // crypto/rand.Read does not fail on supported platforms
	id := hex.EncodeToString(r[:])
	if err := writeFileAtomic(path, []byte(id+"\n")); err != nil {
		return "", fmt.Errorf("write instance id: %w", err)
	}
	return id, nil
}

// writeFileAtomic writes through a temporary file and a rename, so a crash
// leaves either no file or the whole file.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	serr := f.Sync()
	if err := errors.Join(werr, serr, f.Close()); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
