package artifact

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func newStore(tb testing.TB, opts LocalOptions) *Local {
	tb.Helper()
	return openStore(tb, tb.TempDir(), opts)
}

// openStore opens the store in dir, closed when the test ends.
func openStore(tb testing.TB, dir string, opts LocalOptions) *Local {
	tb.Helper()
	l, err := NewLocal(dir, opts)
	if err != nil {
		tb.Fatalf("NewLocal: %v", err)
	}
	tb.Cleanup(func() {
		if err := l.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return l
}

// fileOnly keeps every blob in a file of its own.
var fileOnly = LocalOptions{InlineMax: -1}

func put(tb testing.TB, l *Local, content []byte, opts PutOptions) Info {
	tb.Helper()
	info, err := l.Put(context.Background(), bytes.NewReader(content), opts)
	if err != nil {
		tb.Fatalf("Put: %v", err)
	}
	return info
}

func sha(content []byte) string {
	sum := sha256.Sum256(content)
	return hex.EncodeToString(sum[:])
}

// rows lists the blobs kept in the small blobs' database.
func rows(tb testing.TB, l *Local) []string {
	tb.Helper()
	q, err := l.inline.read.QueryContext(tb.Context(), `SELECT id FROM blobs ORDER BY id`)
	if err != nil {
		tb.Fatal(err)
	}
	defer q.Close()
	var out []string
	for q.Next() {
		var id string
		if err := q.Scan(&id); err != nil {
			tb.Fatal(err)
		}
		out = append(out, id)
	}
	if err := q.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// files lists the regular files under the store dir, relative to it,
// except the small blobs' database (rows lists what it holds).
func files(tb testing.TB, l *Local) []string {
	tb.Helper()
	var out []string
	err := filepath.WalkDir(l.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(l.dir, p)
		if strings.HasPrefix(rel, inlineFile) {
			return nil
		}
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// The contract is tested in artifacttest (contract_test.go); these are the
// local store's own promises about its directory.

// attrsHere reports whether the test's temp filesystem keeps user
// extended attributes (ext4, xfs, btrfs, recent tmpfs do).
func attrsHere(tb testing.TB) bool {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), "probe")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		tb.Fatal(err)
	}
	return setTypeAttr(p, "text/plain") == nil
}

func TestLocalLayout(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		sidecar bool // the content type in a file of its own
	}{
		{"type on the blob", false},
		{"sidecar", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if !tc.sidecar && !attrsHere(t) {
				t.Skip("the temp filesystem keeps no user extended attributes")
			}
			l := newStore(t, fileOnly)
			l.noAttrs.Store(tc.sidecar)
			testLayout(t, l, tc.sidecar)
		})
	}
}

func testLayout(t *testing.T, l *Local, sidecar bool) {
	content := []byte("hello, artifact")
	id := sha(content)
	// Repeated and concurrent Puts of one content keep one blob (and one
	// content type file) and the first type.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := l.Put(context.Background(), bytes.NewReader(content), PutOptions{ContentType: "text/plain"}); err != nil {
				t.Errorf("Put: %v", err)
			}
		})
	}
	wg.Wait()
	if got := put(t, l, content, PutOptions{ContentType: "application/json"}).ContentType; got != "text/plain" {
		t.Errorf("re-Put with another type: %q, want the first, text/plain", got)
	}
	want := []string{id[:2] + "/" + id[2:4] + "/" + id}
	if sidecar {
		want = append(want, want[0]+".type")
	}
	if diff := cmp.Diff(want, files(t, l)); diff != "" {
		t.Errorf("files mismatch (-want +got):\n%s", diff)
	}
	if got := rows(t, l); len(got) != 0 {
		t.Errorf("rows of a file-only store: %v", got)
	}
	// A store that may use attributes, and keeps small blobs in rows, reads
	// the type either way.
	again := openStore(t, l.dir, LocalOptions{})
	if st, err := again.Stat(t.Context(), id); err != nil || st.ContentType != "text/plain" {
		t.Errorf("Stat after reopening = %+v, %v; want text/plain", st, err)
	}
	if err := again.Delete(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	if got := files(t, l); len(got) != 0 {
		t.Errorf("files left after Delete: %v", got)
	}
}

// A failed Put leaves no file behind, not even in tmp/.
func TestLocalFailuresLeaveNoFiles(t *testing.T) {
	t.Parallel()
	boom := errors.New("connection reset")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		r       func() io.Reader
		opts    PutOptions
		wantErr error
	}{
		{"reader fails", context.Background(), func() io.Reader { return &failingReader{n: 100 << 10, err: boom} }, PutOptions{}, boom},
		{"reader fails past a row", context.Background(), func() io.Reader { return &failingReader{n: 1 << 20, err: boom} }, PutOptions{}, boom},
		{"context cancelled", cancelled, func() io.Reader { return bytes.NewReader([]byte("x")) }, PutOptions{}, context.Canceled},
		{"too large", context.Background(), func() io.Reader { return bytes.NewReader(make([]byte, 10)) }, PutOptions{MaxSize: 5}, ErrTooLarge},
		{"too large past a row", context.Background(), func() io.Reader { return bytes.NewReader(make([]byte, 1<<20)) }, PutOptions{MaxSize: 300 << 10}, ErrTooLarge},
		{"bad type", context.Background(), func() io.Reader { return bytes.NewReader([]byte("x")) }, PutOptions{ContentType: ";;"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, opts := range []LocalOptions{{}, fileOnly} {
				l := newStore(t, opts)
				_, err := l.Put(tc.ctx, tc.r(), tc.opts)
				if err == nil || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
					t.Fatalf("InlineMax %d: Put error = %v, want %v", opts.InlineMax, err, tc.wantErr)
				}
				if got := files(t, l); len(got) != 0 {
					t.Errorf("InlineMax %d: files left behind: %v", opts.InlineMax, got)
				}
				if got := rows(t, l); len(got) != 0 {
					t.Errorf("InlineMax %d: rows left behind: %v", opts.InlineMax, got)
				}
			}
		})
	}
}

// failingReader yields n bytes and then an error.
type failingReader struct {
	n   int
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, f.err
	}
	k := min(f.n, len(p))
	clear(p[:k])
	f.n -= k
	return k, nil
}

func TestLocalReady(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l := openStore(t, dir, LocalOptions{})
	if err := l.Ready(t.Context()); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := l.Ready(t.Context()); err == nil {
		t.Error("Ready with the directory gone: nil, want an error")
	}
}

func TestDamagedBlobRepaired(t *testing.T) {
	t.Parallel()
	l := newStore(t, fileOnly)
	content := []byte("precious output")
	info := put(t, l, content, PutOptions{})
	if err := os.Truncate(l.path(info.ID), 3); err != nil {
		t.Fatal(err)
	}
	put(t, l, content, PutOptions{})
	if got, _ := os.ReadFile(l.path(info.ID)); !bytes.Equal(got, content) {
		t.Errorf("blob = %q after re-Put, want %q", got, content)
	}
}

func TestNewLocalRemovesStaleTemp(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	openStore(t, dir, LocalOptions{})
	stale, fresh := filepath.Join(dir, "tmp", "put-stale"), filepath.Join(dir, "tmp", "put-fresh")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	openStore(t, dir, LocalOptions{})
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale temp file kept (stat err %v)", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("fresh temp file removed: %v", err)
	}
}

func TestDetectType(t *testing.T) {
	t.Parallel()
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	tests := []struct {
		name    string
		content []byte
		opts    PutOptions
		want    string
	}{
		{"png sniffed", png, PutOptions{}, "image/png"},
		{"json by extension", []byte(`{"a":1}`), PutOptions{Name: "out.JSON"}, "application/json"},
		{"text without name", []byte("plain words"), PutOptions{}, "text/plain; charset=utf-8"},
		{"unknown binary", []byte{0, 1, 2, 3}, PutOptions{Name: "model.safetensors-unknown"}, "application/octet-stream"},
		{"sniff beats extension", []byte("<html><body>hi"), PutOptions{Name: "cat.png"}, "text/html; charset=utf-8"},
		{"given type normalised", png, PutOptions{ContentType: "Image/PNG"}, "image/png"},
		{"given type wins", png, PutOptions{ContentType: "image/webp"}, "image/webp"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := newStore(t, LocalOptions{})
			if got := put(t, l, tc.content, tc.opts).ContentType; got != tc.want {
				t.Errorf("ContentType = %q, want %q", got, tc.want)
			}
		})
	}
}

func FuzzValidID(f *testing.F) {
	f.Add(sha(nil))
	f.Add("../etc/passwd")
	f.Add(strings.Repeat("A", 64))
	f.Fuzz(func(t *testing.T, id string) {
		if !ValidID(id) {
			return
		}
		if len(id) != 64 || strings.Trim(id, "0123456789abcdef") != "" {
			t.Fatalf("ValidID(%q) accepted a non-hash", id)
		}
		if p := (&Local{dir: "/store"}).path(id); !strings.HasPrefix(filepath.Clean(p), "/store/") {
			t.Fatalf("path(%q) = %q escapes the store", id, p)
		}
	})
}
