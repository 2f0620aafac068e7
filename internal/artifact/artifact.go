// Package artifact stores job inputs and outputs by content hash and serves
// them over HTTP.
//
// Content addressing makes a blob's ID its SHA-256, so storing the same
// image twice keeps one copy, a stored blob never changes (it can be cached
// forever and resumed with Range requests), and an ID is a fixed-shape token
// that is checked before it gets anywhere near the filesystem. Blobs are
// streamed in and out, never held whole in memory, because outputs can be
// 100 MB videos.
//
// Local is the embedded, directory-backed store; S3 keeps blobs in an
// S3-compatible bucket so that several replicas share them. Open picks one
// from a location string (a directory or an s3:// URL), and the contract
// both honour is tested once, in artifacttest.
package artifact

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Store keeps blobs by content hash. Implementations are safe for concurrent
// use; concurrent Puts of the same content store it once.
type Store interface {
	// Put streams r into the store and returns its Info. Putting content
	// that is already stored returns the existing blob's Info.
	Put(ctx context.Context, r io.Reader, opts PutOptions) (Info, error)
	// Open returns the blob for reading; the caller closes it.
	Open(ctx context.Context, id string) (Blob, error)
	// Stat returns the blob's Info without opening it.
	Stat(ctx context.Context, id string) (Info, error)
	// Exists reports whether the blob is stored.
	Exists(ctx context.Context, id string) (bool, error)
	// Delete removes the blob; deleting a missing blob is not an error.
	// Blobs are shared by content: callers decide when none references it.
	Delete(ctx context.Context, id string) error
}

// Backend is a Store as Open returns it: one that can say whether its
// storage answers and that holds resources to release.
type Backend interface {
	Store
	// Ready returns nil when the storage answers; its error says why not.
	// It is cheap enough to back a readiness probe.
	Ready(ctx context.Context) error
	// Close releases the store's connections. Blobs already open stay
	// readable until their own Close.
	Close() error
}

// PutOptions describe the content being stored.
type PutOptions struct {
	// MaxSize bounds the content in bytes; more fails with ErrTooLarge and
	// stores nothing. Default: the store's own limit.
	MaxSize int64
	// ContentType is recorded as given (it must parse as a media type).
	// Default: sniffed from the first 512 bytes, refined by Name's extension
	// when sniffing finds only generic text or binary.
	ContentType string
	// Name is a file name hint (only its extension is used), e.g. the name
	// ComfyUI gave an output.
	Name string
}

// Info describes a stored blob.
type Info struct {
	ID          string // lowercase hex SHA-256 of the content
	Size        int64
	ContentType string // as recorded by the first Put of this content
}

// Blob is an open stored blob. Reads and seeks are over the content.
type Blob interface {
	io.ReadSeekCloser
	Info() Info
	ModTime() time.Time
}

// Errors callers branch on.
var (
	ErrNotFound  = errors.New("artifact not found")
	ErrInvalidID = errors.New("invalid artifact id")
	ErrTooLarge  = errors.New("artifact too large")
)

// TooLargeError reports content over the size limit. It matches ErrTooLarge
// with errors.Is.
type TooLargeError struct {
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("artifact too large: more than %d bytes", e.Limit)
}

func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

// idLen is the length of a hex SHA-256.
const idLen = 64

// ValidID reports whether id has the shape of a blob ID: 64 lowercase hex
// digits. Nothing else may name a blob, so user input that passes cannot
// climb out of the store's directory.
func ValidID(id string) bool {
	if len(id) != idLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func checkID(id string) error {
	if !ValidID(id) {
		return fmt.Errorf("%w %q: want %d lowercase hex digits", ErrInvalidID, truncate(id, 80), idLen)
	}
	return nil
}

// truncate keeps error messages bounded when they quote user input.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
