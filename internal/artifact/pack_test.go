package artifact

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// openAt opens a store in dir and closes it at cleanup unless the test
// closed it (or crashed it) first.
func openAt(tb testing.TB, dir string, opts LocalOptions) *Local {
	tb.Helper()
	l, err := NewLocal(dir, opts)
	if err != nil {
		tb.Fatalf("NewLocal: %v", err)
	}
	tb.Cleanup(func() { _ = l.Close() })
	return l
}

// crash abandons l as a killed process would: nothing synced or written
// at Close, and the directory lock dropped.
func crash(tb testing.TB, l *Local) {
	tb.Helper()
	l.closed.Store(true) // cleanup's Close does nothing more
	p := l.packs
	p.mu.Lock()
	p.closed = true
	if p.cur != nil {
		_ = p.cur.f.Close()
	}
	p.mu.Unlock()
	if err := p.lock.release(); err != nil {
		tb.Fatal(err)
	}
}

func readBlob(tb testing.TB, l *Local, id string) ([]byte, Info) {
	tb.Helper()
	b, err := l.Open(context.Background(), id)
	if err != nil {
		tb.Fatalf("Open %s: %v", id, err)
	}
	defer b.Close()
	got, err := io.ReadAll(b)
	if err != nil {
		tb.Fatal(err)
	}
	return got, b.Info()
}

// contents makes n distinct small contents.
func contents(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = bytes.Repeat([]byte(fmt.Sprintf("blob %d;", i)), 100+i)
	}
	return out
}

// checkAll fails unless every content reads back whole from l.
func checkAll(tb testing.TB, l *Local, all [][]byte) {
	tb.Helper()
	for i, c := range all {
		got, info := readBlob(tb, l, sha(c))
		if !bytes.Equal(got, c) || info.ContentType != "text/plain" {
			tb.Errorf("blob %d: %d bytes of type %q, want %d of text/plain", i, len(got), info.ContentType, len(c))
		}
	}
}

func putAll(tb testing.TB, l *Local, all [][]byte) {
	tb.Helper()
	for _, c := range all {
		put(tb, l, c, PutOptions{ContentType: "text/plain"})
	}
}

// Packed blobs survive a reopen, whether the store was closed (the index
// snapshot serves) or the process died (the packs are scanned), and across
// pack files.
func TestPacksReopen(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		packSize int64
		crash    bool
	}{
		{"closed", 0, false},
		{"crashed", 0, true},
		{"closed, many packs", 4 << 10, false},
		{"crashed, many packs", 4 << 10, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			opts := LocalOptions{PackSize: tc.packSize}
			l := openAt(t, dir, opts)
			all := contents(40)
			putAll(t, l, all[:20])
			if tc.crash {
				crash(t, l)
			} else if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			l = openAt(t, dir, opts)
			checkAll(t, l, all[:20])
			putAll(t, l, all[20:])
			if tc.crash {
				crash(t, l)
			} else if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			checkAll(t, openAt(t, dir, opts), all)
			packsMade, _ := filepath.Glob(filepath.Join(dir, "packs", "*.pack"))
			if many := tc.packSize > 0; many != (len(packsMade) > 2) {
				t.Errorf("%d pack files for pack size %d", len(packsMade), tc.packSize)
			}
		})
	}
}

// A record a crash cut short is cut off at the next open; the blobs before
// it are intact and new ones go after them.
func TestPacksCutTornRecord(t *testing.T) {
	t.Parallel()
	for _, torn := range []int{1, recHeaderLen - 1, recHeaderLen + 10} {
		t.Run(fmt.Sprint(torn), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			l := openAt(t, dir, LocalOptions{})
			all := contents(6)
			putAll(t, l, all[:3])
			crash(t, l)
			// The start of one more record, as a write a crash interrupted.
			rec := fillRecord(append(make([]byte, recHeaderLen), all[3]...), recBlob, rawID(sha(all[3])), int64(len(all[3])), 1, "text/plain")
			appendFile(t, filepath.Join(dir, "packs", "00000001.pack"), rec[:torn])
			l = openAt(t, dir, LocalOptions{})
			if ok, _ := l.Exists(context.Background(), sha(all[3])); ok {
				t.Error("the torn blob exists")
			}
			putAll(t, l, all[3:])
			crash(t, l)
			checkAll(t, openAt(t, dir, LocalOptions{}), all)
		})
	}
}

func appendFile(tb testing.TB, path string, b []byte) {
	tb.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		tb.Fatal(err)
	}
}

// A damaged or stale index file is not trusted: the packs are scanned.
func TestPacksIndexDamaged(t *testing.T) {
	t.Parallel()
	for name, damage := range map[string]func(t *testing.T, path string){
		"truncated": func(t *testing.T, path string) {
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, st.Size()/2); err != nil {
				t.Fatal(err)
			}
		},
		"flipped byte": func(t *testing.T, path string) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			b[len(b)/2] ^= 0xff
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
		},
		"garbage": func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte("not an index"), 0o644); err != nil {
				t.Fatal(err)
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			l := openAt(t, dir, LocalOptions{})
			all := contents(10)
			putAll(t, l, all)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			damage(t, filepath.Join(dir, "packs", indexFile))
			checkAll(t, openAt(t, dir, LocalOptions{}), all)
		})
	}
}

// A deleted packed blob stays deleted after a reopen, and can be put again.
func TestPacksDelete(t *testing.T) {
	t.Parallel()
	for _, crashed := range []bool{false, true} {
		t.Run(fmt.Sprint("crashed=", crashed), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			l := openAt(t, dir, LocalOptions{})
			all := contents(3)
			putAll(t, l, all)
			if err := l.Delete(context.Background(), sha(all[1])); err != nil {
				t.Fatal(err)
			}
			if crashed {
				crash(t, l)
			} else if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			l = openAt(t, dir, LocalOptions{})
			if _, err := l.Open(context.Background(), sha(all[1])); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Open of the deleted blob: %v, want ErrNotFound", err)
			}
			checkAll(t, l, [][]byte{all[0], all[2]})
			putAll(t, l, all[1:2])
			crash(t, l)
			checkAll(t, openAt(t, dir, LocalOptions{}), all)
		})
	}
}

// Concurrent Puts share fsyncs; every blob is whole and none is stored
// twice.
func TestPacksConcurrentPuts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l := openAt(t, dir, LocalOptions{PackSize: 64 << 10})
	all := contents(64)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := g; i < len(all)*2; i += 8 { // each content twice
				if _, err := l.Put(context.Background(), bytes.NewReader(all[i%len(all)]), PutOptions{ContentType: "text/plain"}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	checkAll(t, l, all)
	crash(t, l)
	l = openAt(t, dir, LocalOptions{})
	checkAll(t, l, all)
	if n := len(l.packs.index); n != len(all) {
		t.Errorf("%d blobs indexed, want %d", n, len(all))
	}
}

// One directory, one open store: a second would interleave its appends.
func TestPacksDirLocked(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l := openAt(t, dir, LocalOptions{})
	if _, err := NewLocal(dir, LocalOptions{}); !errors.Is(err, ErrDirInUse) {
		t.Fatalf("second NewLocal: %v, want ErrDirInUse", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	openAt(t, dir, LocalOptions{})
}

// Close ends writes; what was opened before stays readable.
func TestPacksClose(t *testing.T) {
	t.Parallel()
	l := newStore(t, LocalOptions{})
	content := []byte("kept")
	info := put(t, l, content, PutOptions{})
	b, err := l.Open(context.Background(), info.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Put(context.Background(), strings.NewReader("more"), PutOptions{}); !errors.Is(err, errStoreClosed) {
		t.Errorf("Put after Close: %v, want errStoreClosed", err)
	}
	if err := l.Delete(context.Background(), info.ID); !errors.Is(err, errStoreClosed) {
		t.Errorf("Delete after Close: %v, want errStoreClosed", err)
	}
	if got, _ := io.ReadAll(b); !bytes.Equal(got, content) {
		t.Errorf("blob opened before Close reads %q, want %q", got, content)
	}
}

// What goes where: small blobs into packs, large ones, and those whose
// content type a record cannot hold, into files; content stored as a file
// before packs were on is not stored again.
func TestPacksPlacement(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	before := openAt(t, dir, noPacks)
	old := []byte("stored before packs")
	put(t, before, old, PutOptions{ContentType: "text/csv"})
	if err := before.Close(); err != nil {
		t.Fatal(err)
	}
	l := openAt(t, dir, LocalOptions{SmallBlobSize: 100})
	// Put refuses content types past 200 bytes; putSmall still guards
	// the record's one length byte.
	long := []byte("typed")
	info, err := l.putSmall(append(make([]byte, recHeaderLen), long...), "text/plain; x="+strings.Repeat("y", maxPackType), "")
	if _, packed := l.packed(info.ID); err != nil || packed {
		t.Errorf("blob with a long content type: packed %v, err %v", packed, err)
	}
	for _, tc := range []struct {
		name    string
		content []byte
		ct      string
		packed  bool
	}{
		{"small", []byte("small"), "", true},
		{"at the limit", bytes.Repeat([]byte("a"), 100), "", true},
		{"over the limit", bytes.Repeat([]byte("b"), 101), "", false},
		{"stored as a file before", old, "", false},
	} {
		info := put(t, l, tc.content, PutOptions{ContentType: tc.ct})
		if _, packed := l.packed(info.ID); packed != tc.packed {
			t.Errorf("%s: packed = %v, want %v", tc.name, packed, tc.packed)
		}
		got, _ := readBlob(t, l, info.ID)
		if !bytes.Equal(got, tc.content) {
			t.Errorf("%s: read back %d bytes, want %d", tc.name, len(got), len(tc.content))
		}
	}
	if _, ct := readBlob(t, l, sha(old)); ct.ContentType != "text/csv" {
		t.Errorf("old blob type %q, want its recorded text/csv", ct.ContentType)
	}
}
