package fleet

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// ArtifactStore is the part of the content-addressed artifact store the
// fleet uses: it streams output files in, and opens staged inputs by hash.
type ArtifactStore interface {
	// PutBlob stores r's bytes and returns their SHA-256 (lowercase hex)
	// and size.
	PutBlob(ctx context.Context, r io.Reader, contentType string) (id string, size int64, err error)
	// OpenBlob opens the blob with id; a missing blob matches ErrBlobNotFound.
	OpenBlob(ctx context.Context, id string) (io.ReadCloser, error)
}

// ErrBlobNotFound is what ArtifactStore.OpenBlob returns for an unknown id.
var ErrBlobNotFound = errors.New("blob not found")

// errTooLarge: an output file exceeded MaxOutputBytes.
var errTooLarge = errors.New("output file too large")

// capReader fails with errTooLarge once more than n bytes were read, so a
// runaway output cannot fill the artifact store. It remembers a failure of
// the source, to tell a broken download from a broken store.
type capReader struct {
	r       io.Reader
	n       int64
	readErr error
}

func (c *capReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n -= int64(n)
	if c.n < 0 {
		return n, fmt.Errorf("%w", errTooLarge)
	}
	if err != nil && err != io.EOF {
		c.readErr = err
	}
	return n, err
}
