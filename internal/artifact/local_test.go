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
	l, err := NewLocal(tb.TempDir(), opts)
	if err != nil {
		tb.Fatalf("NewLocal: %v", err)
	}
	return l
}

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

// files lists the regular files under the store dir, relative to it.
func files(tb testing.TB, l *Local) []string {
	tb.Helper()
	var out []string
	err := filepath.WalkDir(l.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(l.dir, p)
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func TestPutOpenRoundTrip(t *testing.T) {
	t.Parallel()
	l := newStore(t, LocalOptions{})
	content := []byte("hello, artifact")
	info := put(t, l, content, PutOptions{ContentType: "text/plain"})
	id := sha(content)
	want := Info{ID: id, Size: int64(len(content)), ContentType: "text/plain"}
	if diff := cmp.Diff(want, info); diff != "" {
		t.Fatalf("Put info mismatch (-want +got):\n%s", diff)
	}
	wantFiles := []string{id[:2] + "/" + id[2:4] + "/" + id, id[:2] + "/" + id[2:4] + "/" + id + ".type"}
	if diff := cmp.Diff(wantFiles, files(t, l)); diff != "" {
		t.Errorf("files mismatch (-want +got):\n%s", diff)
	}
	b, err := l.Open(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	got, err := io.ReadAll(b)
	if err != nil || !bytes.Equal(got, content) {
		t.Errorf("read %q, %v; want %q", got, err, content)
	}
	if diff := cmp.Diff(want, b.Info()); diff != "" {
		t.Errorf("Blob.Info mismatch (-want +got):\n%s", diff)
	}
	if b.ModTime().IsZero() {
		t.Error("ModTime is zero")
	}
	if st, err := l.Stat(t.Context(), id); err != nil || st != want {
		t.Errorf("Stat = %+v, %v; want %+v", st, err, want)
	}
	if ok, err := l.Exists(t.Context(), id); !ok || err != nil {
		t.Errorf("Exists = %v, %v; want true", ok, err)
	}
}

func TestPutIdempotent(t *testing.T) {
	t.Parallel()
	l := newStore(t, LocalOptions{})
	content := []byte("same bytes")
	first := put(t, l, content, PutOptions{ContentType: "text/plain"})
	second := put(t, l, content, PutOptions{ContentType: "application/json"})
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("second Put differs (-first +second):\n%s", diff)
	}
	if n := len(files(t, l)); n != 2 {
		t.Errorf("%d files stored, want 2 (one blob, one type)", n)
	}
}

func TestPutEmpty(t *testing.T) {
	t.Parallel()
	l := newStore(t, LocalOptions{})
	info := put(t, l, nil, PutOptions{})
	if info.ID != sha(nil) || info.Size != 0 {
		t.Errorf("Put(empty) = %+v", info)
	}
}

func TestPutTooLarge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		size    int
		opts    PutOptions
		store   LocalOptions
		wantErr int64 // the limit reported, 0 for success
	}{
		{"at limit", 100, PutOptions{MaxSize: 100}, LocalOptions{}, 0},
		{"one over", 101, PutOptions{MaxSize: 100}, LocalOptions{}, 100},
		{"far over", 1 << 20, PutOptions{MaxSize: 100}, LocalOptions{}, 100},
		{"store default", 65, PutOptions{}, LocalOptions{MaxSize: 64}, 64},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := newStore(t, tc.store)
			_, err := l.Put(t.Context(), bytes.NewReader(make([]byte, tc.size)), tc.opts)
			if tc.wantErr == 0 {
				if err != nil {
					t.Fatalf("Put: %v", err)
				}
				return
			}
			var tooLarge *TooLargeError
			if !errors.Is(err, ErrTooLarge) || !errors.As(err, &tooLarge) || tooLarge.Limit != tc.wantErr {
				t.Fatalf("Put error = %v, want TooLargeError{Limit: %d}", err, tc.wantErr)
			}
			if got := files(t, l); len(got) != 0 {
				t.Errorf("files left behind: %v", got)
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

func TestPutFailureLeavesNothing(t *testing.T) {
	t.Parallel()
	boom := errors.New("connection reset")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		r       io.Reader
		opts    PutOptions
		wantErr error
	}{
		{"reader fails", context.Background(), &failingReader{n: 100 << 10, err: boom}, PutOptions{}, boom},
		{"context cancelled", cancelled, bytes.NewReader([]byte("x")), PutOptions{}, context.Canceled},
		{"too large", context.Background(), bytes.NewReader(make([]byte, 10)), PutOptions{MaxSize: 5}, ErrTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := newStore(t, LocalOptions{})
			if _, err := l.Put(tc.ctx, tc.r, tc.opts); !errors.Is(err, tc.wantErr) {
				t.Fatalf("Put error = %v, want %v", err, tc.wantErr)
			}
			if got := files(t, l); len(got) != 0 {
				t.Errorf("files left behind: %v", got)
			}
		})
	}
}

func TestPutRejectsBadOptions(t *testing.T) {
	t.Parallel()
	l := newStore(t, LocalOptions{})
	for name, opts := range map[string]PutOptions{
		"negative size": {MaxSize: -1},
		"bad type":      {ContentType: "not a type;;"},
		"long type":     {ContentType: "text/plain; x=" + strings.Repeat("a", 300)},
	} {
		if _, err := l.Put(t.Context(), strings.NewReader("x"), opts); err == nil {
			t.Errorf("%s: Put succeeded, want an error", name)
		}
	}
}

func TestPutConcurrentSameContent(t *testing.T) {
	t.Parallel()
	l := newStore(t, LocalOptions{})
	content := bytes.Repeat([]byte("comfy"), 200<<10) // 1 MB
	var wg sync.WaitGroup
	infos := make([]Info, 16)
	for i := range infos {
		wg.Go(func() {
			info, err := l.Put(context.Background(), bytes.NewReader(content), PutOptions{})
			if err != nil {
				t.Errorf("Put %d: %v", i, err)
			}
			infos[i] = info
		})
	}
	wg.Wait()
	for i, info := range infos {
		if info != infos[0] || info.ID != sha(content) {
			t.Errorf("Put %d = %+v, want %+v", i, info, infos[0])
		}
	}
	if n := len(files(t, l)); n != 2 {
		t.Errorf("%d files stored, want 2", n)
	}
	b, err := l.Open(t.Context(), infos[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if got, _ := io.ReadAll(b); !bytes.Equal(got, content) {
		t.Error("stored content differs")
	}
}

func TestInvalidIDsNeverReachTheFilesystem(t *testing.T) {
	t.Parallel()
	l := newStore(t, LocalOptions{})
	valid := sha([]byte("x"))
	ids := map[string]string{
		"empty":      "",
		"traversal":  "../../../../etc/passwd",
		"uppercase":  strings.ToUpper(valid),
		"short":      valid[:63],
		"long":       valid + "0",
		"slash":      valid[:30] + "/" + valid[31:],
		"nul":        valid[:63] + "\x00",
		"temp dir":   "tmp",
		"non-ascii":  valid[:62] + "é",
		"hex prefix": "0x" + valid[:62],
	}
	ctx := t.Context()
	for name, id := range ids {
		t.Run(name, func(t *testing.T) {
			_, openErr := l.Open(ctx, id)
			_, statErr := l.Stat(ctx, id)
			_, existsErr := l.Exists(ctx, id)
			deleteErr := l.Delete(ctx, id)
			for op, err := range map[string]error{"Open": openErr, "Stat": statErr, "Exists": existsErr, "Delete": deleteErr} {
				if !errors.Is(err, ErrInvalidID) {
					t.Errorf("%s(%q) error = %v, want ErrInvalidID", op, id, err)
				}
			}
		})
	}
}

func TestDelete(t *testing.T) {
	t.Parallel()
	l := newStore(t, LocalOptions{})
	info := put(t, l, []byte("bye"), PutOptions{})
	if err := l.Delete(t.Context(), info.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Open(t.Context(), info.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open after Delete: err = %v, want ErrNotFound", err)
	}
	if ok, err := l.Exists(t.Context(), info.ID); ok || err != nil {
		t.Errorf("Exists after Delete = %v, %v; want false, nil", ok, err)
	}
	if err := l.Delete(t.Context(), info.ID); err != nil {
		t.Errorf("second Delete: %v, want nil", err)
	}
	if got := files(t, l); len(got) != 0 {
		t.Errorf("files left behind: %v", got)
	}
}

func TestDamagedBlobRepaired(t *testing.T) {
	t.Parallel()
	l := newStore(t, LocalOptions{})
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
	if _, err := NewLocal(dir, LocalOptions{}); err != nil {
		t.Fatal(err)
	}
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
	if _, err := NewLocal(dir, LocalOptions{}); err != nil {
		t.Fatal(err)
	}
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
