// Package artifacttest is the contract suite of artifact.Store: one set of
// tests that every store (the local directory, S3) runs, so that the
// gateway relies on the contract documented on artifact.Store and not on
// where the bytes live.
//
// A store's test calls Run with a constructor of empty stores:
//
//	func TestContract(t *testing.T) {
//		artifacttest.Run(t, func(tb testing.TB, o artifacttest.Options) artifact.Backend {
//			return openTemp(tb, o.MaxSize)
//		})
//	}
package artifacttest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"testing"

	"github.com/comfygate/comfygate/internal/artifact"
)

// Options are the store settings a test needs.
type Options struct {
	// MaxSize is the store's own size limit; 0 leaves its default.
	MaxSize int64
}

// NewStore returns a new, empty store for one test and closes it in
// tb.Cleanup.
type NewStore func(tb testing.TB, opts Options) artifact.Backend

// Run runs the whole suite against stores made by newStore. Tests run in
// parallel, each with its own store.
func Run(t *testing.T, newStore NewStore) {
	groups := []struct {
		name  string
		tests map[string]func(*testing.T, NewStore)
	}{
		{"Basics", basicTests},
		{"Put", putTests},
		{"IDs", idTests},
		{"Read", readTests},
		{"Serve", serveTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for name, test := range g.tests {
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					test(t, newStore)
				})
			}
		})
	}
}

// Put stores content or fails tb.
func Put(tb testing.TB, s artifact.Store, content []byte, opts artifact.PutOptions) artifact.Info {
	tb.Helper()
	info, err := s.Put(context.Background(), bytes.NewReader(content), opts)
	if err != nil {
		tb.Fatalf("Put: %v", err)
	}
	return info
}

// SHA returns the blob ID of content.
func SHA(content []byte) string {
	sum := sha256.Sum256(content)
	return hex.EncodeToString(sum[:])
}

// readAll opens id and reads it whole.
func readAll(tb testing.TB, s artifact.Store, id string) []byte {
	tb.Helper()
	b, err := s.Open(tb.Context(), id)
	if err != nil {
		tb.Fatalf("Open(%s): %v", id, err)
	}
	defer b.Close()
	got, err := io.ReadAll(b)
	if err != nil {
		tb.Fatalf("read %s: %v", id, err)
	}
	return got
}

// wantAbsent fails tb if the store holds id.
func wantAbsent(tb testing.TB, s artifact.Store, id, why string) {
	tb.Helper()
	if ok, err := s.Exists(context.Background(), id); ok || err != nil {
		tb.Errorf("%s: Exists(%s) = %v, %v; want false, nil", why, id[:12], ok, err)
	}
}
