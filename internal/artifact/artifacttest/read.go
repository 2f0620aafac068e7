package artifacttest

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/comfygate/comfygate/internal/artifact"
)

var idTests = map[string]func(*testing.T, NewStore){
	"Invalid": testInvalidIDs,
	"Missing": testMissingIDs,
}

// Nothing but a hash names a blob: other IDs never reach the storage.
func testInvalidIDs(t *testing.T, newStore NewStore) {
	s := newStore(t, Options{})
	valid := SHA([]byte("x"))
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
		"query":      valid[:60] + "?a=b",
	}
	for name, id := range ids {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			_, openErr := s.Open(ctx, id)
			_, statErr := s.Stat(ctx, id)
			_, existsErr := s.Exists(ctx, id)
			deleteErr := s.Delete(ctx, id)
			for op, err := range map[string]error{"Open": openErr, "Stat": statErr, "Exists": existsErr, "Delete": deleteErr} {
				if !errors.Is(err, artifact.ErrInvalidID) {
					t.Errorf("%s(%q) error = %v, want ErrInvalidID", op, id, err)
				}
			}
		})
	}
}

func testMissingIDs(t *testing.T, newStore NewStore) {
	s := newStore(t, Options{})
	Put(t, s, []byte("present"), artifact.PutOptions{})
	id := SHA([]byte("absent"))
	ctx := t.Context()
	if _, err := s.Open(ctx, id); !errors.Is(err, artifact.ErrNotFound) {
		t.Errorf("Open: err = %v, want ErrNotFound", err)
	}
	if _, err := s.Stat(ctx, id); !errors.Is(err, artifact.ErrNotFound) {
		t.Errorf("Stat: err = %v, want ErrNotFound", err)
	}
	if ok, err := s.Exists(ctx, id); ok || err != nil {
		t.Errorf("Exists = %v, %v; want false, nil", ok, err)
	}
	if err := s.Delete(ctx, id); err != nil {
		t.Errorf("Delete: %v, want nil", err)
	}
}

var readTests = map[string]func(*testing.T, NewStore){
	"Seek":          testSeek,
	"ReadAfterSeek": testReadAfterSeek,
	"Close":         testClose,
}

// step is one operation on an open blob: a seek (whence ≥ 0) or a read of
// n bytes.
type step struct {
	whence  int // io.Seek*, or -1 for a read
	offset  int64
	n       int
	wantPos int64  // a seek's result
	want    string // a read's bytes
	wantErr bool
}

func seek(offset int64, whence int, pos int64) step {
	return step{whence: whence, offset: offset, wantPos: pos}
}
func read(n int, want string) step { return step{whence: -1, n: n, want: want} }

func testSeek(t *testing.T, newStore NewStore) {
	const content = "0123456789abcdefghijklmnopqrstuvwxyz"
	s := newStore(t, Options{})
	info := Put(t, s, []byte(content), artifact.PutOptions{})
	tests := []struct {
		name  string
		steps []step
	}{
		{"from start", []step{seek(10, io.SeekStart, 10), read(5, "abcde")}},
		{"from end", []step{seek(-3, io.SeekEnd, 33), read(10, "xyz")}},
		{"size from end", []step{seek(0, io.SeekEnd, 36), seek(0, io.SeekStart, 0), read(4, "0123")}},
		{"relative", []step{read(3, "012"), seek(2, io.SeekCurrent, 5), read(3, "567")}},
		{"back after reading", []step{read(20, content[:20]), seek(1, io.SeekStart, 1), read(3, "123")}},
		{"forward in stream", []step{read(2, "01"), seek(30, io.SeekStart, 30), read(6, "uvwxyz"), read(1, "")}},
		{"past the end", []step{seek(100, io.SeekStart, 100), read(5, "")}},
		{"at the end", []step{seek(36, io.SeekStart, 36), read(5, "")}},
		{"negative", []step{{whence: io.SeekCurrent, offset: -1, wantErr: true}, read(2, "01")}},
		{"bad whence", []step{{whence: 7, wantErr: true}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := s.Open(t.Context(), info.ID)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			for i, st := range tc.steps {
				runStep(t, b, i, st)
			}
		})
	}
}

func runStep(t *testing.T, b artifact.Blob, i int, st step) {
	t.Helper()
	if st.whence >= 0 {
		pos, err := b.Seek(st.offset, st.whence)
		if st.wantErr != (err != nil) || (!st.wantErr && pos != st.wantPos) {
			t.Fatalf("step %d: Seek(%d, %d) = %d, %v; want %d, error %v", i, st.offset, st.whence, pos, err, st.wantPos, st.wantErr)
		}
		return
	}
	got := make([]byte, st.n)
	n, err := io.ReadFull(b, got)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("step %d: read: %v", i, err)
	}
	if string(got[:n]) != st.want {
		t.Fatalf("step %d: read %q, want %q", i, got[:n], st.want)
	}
}

// Reading a larger blob in pieces, seeking between them, returns the
// right bytes: a store that reads lazily must restart at the new position.
func testReadAfterSeek(t *testing.T, newStore NewStore) {
	const size = 3 << 20
	s := newStore(t, Options{})
	info, err := s.Put(t.Context(), NewPattern(size, 2), artifact.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Open(t.Context(), info.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, off := range []int64{size - 10, 0, 1 << 20, 1<<20 + 5000, 7, size / 3} {
		if _, err := b.Seek(off, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, 10)
		if _, err := io.ReadFull(b, got); err != nil {
			t.Fatalf("read at %d: %v", off, err)
		}
		if want := PatternAt(2, off, 10); string(got) != string(want) {
			t.Errorf("at %d: got %x, want %x", off, got, want)
		}
	}
}

func testClose(t *testing.T, newStore NewStore) {
	s := newStore(t, Options{})
	info := Put(t, s, []byte("closing time"), artifact.PutOptions{})
	b, err := s.Open(t.Context(), info.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Read(make([]byte, 3)); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := b.Read(make([]byte, 3)); err == nil {
		t.Error("Read after Close succeeded")
	}
}
