package artifact

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Small blobs are rows of blobs.db; larger ones files; both read back,
// also after the store is reopened, and Delete removes either.
func TestSmallBlobsAreRows(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l := openStore(t, dir, LocalOptions{InlineMax: 1 << 10})
	small := []byte("a small output")
	edge := bytes.Repeat([]byte{7}, 1<<10)
	large := bytes.Repeat([]byte{9}, 1<<10+1)
	si := put(t, l, small, PutOptions{ContentType: "text/plain"})
	ei := put(t, l, edge, PutOptions{})
	li := put(t, l, large, PutOptions{})
	want := []string{si.ID, ei.ID}
	if want[0] > want[1] {
		want[0], want[1] = want[1], want[0]
	}
	if diff := cmp.Diff(want, rows(t, l)); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{li.ID[:2] + "/" + li.ID[2:4] + "/" + li.ID}, files(t, l)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	again := openStore(t, dir, LocalOptions{})
	for _, c := range []struct {
		content []byte
		info    Info
	}{{small, si}, {edge, ei}, {large, li}} {
		b, err := again.Open(t.Context(), c.info.ID)
		if err != nil {
			t.Fatalf("Open %s after reopening: %v", c.info.ID, err)
		}
		got, err := io.ReadAll(b)
		b.Close()
		if err != nil || !bytes.Equal(got, c.content) || b.Info() != c.info {
			t.Errorf("blob %s = %d bytes, %+v, %v; want %d bytes, %+v", c.info.ID, len(got), b.Info(), err, len(c.content), c.info)
		}
		if err := again.Delete(t.Context(), c.info.ID); err != nil {
			t.Fatal(err)
		}
	}
	if r, f := rows(t, again), files(t, again); len(r) != 0 || len(f) != 0 {
		t.Errorf("after Delete: rows %v, files %v", r, f)
	}
}

// A store written before small blobs became rows (or with another
// InlineMax) keeps working: its files are read, and putting their content
// again keeps the file and its content type rather than a second copy.
func TestFilesFromBeforeRowsStay(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	old := openStore(t, dir, fileOnly)
	content := []byte("written as a file")
	info := put(t, old, content, PutOptions{ContentType: "text/plain"})
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	l := openStore(t, dir, LocalOptions{})
	if got := put(t, l, content, PutOptions{ContentType: "application/json"}); got != info {
		t.Errorf("re-Put = %+v, want the file's %+v", got, info)
	}
	if r := rows(t, l); len(r) != 0 {
		t.Errorf("rows = %v, want the content left in its file", r)
	}
	if st, err := l.Stat(t.Context(), info.ID); err != nil || st != info {
		t.Errorf("Stat = %+v, %v; want %+v", st, err, info)
	}
}

// Deleted rows give their space back to the file system, not only to
// SQLite's free list.
func TestDeletedRowsShrinkTheDatabase(t *testing.T) {
	t.Parallel()
	l := newStore(t, LocalOptions{})
	content := bytes.Repeat([]byte("x"), 200<<10)
	var ids []string
	for i := range 60 { // 12 MB
		content[0] = byte(i)
		ids = append(ids, put(t, l, content, PutOptions{}).ID)
	}
	full := pages(t, l)
	for _, id := range ids {
		if err := l.Delete(t.Context(), id); err != nil {
			t.Fatal(err)
		}
	}
	if got := pages(t, l); got > full-2*vacuumPages {
		t.Errorf("database is %d pages after deleting all of its %d, want at most %d", got, full, full-2*vacuumPages)
	}
}

// pages is the size of the small blobs' database in pages.
func pages(tb testing.TB, l *Local) int64 {
	tb.Helper()
	var n int64
	if err := l.inline.write.QueryRowContext(tb.Context(), `PRAGMA page_count`).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

// A row blob once closed reads and seeks no more, as a closed file.
func TestClosedRowBlob(t *testing.T) {
	t.Parallel()
	l := newStore(t, LocalOptions{})
	info := put(t, l, []byte("content"), PutOptions{})
	b, err := l.Open(t.Context(), info.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Read(make([]byte, 1)); err != os.ErrClosed {
		t.Errorf("Read after Close: %v, want %v", err, os.ErrClosed)
	}
	if _, err := b.Seek(0, io.SeekStart); err != os.ErrClosed {
		t.Errorf("Seek after Close: %v, want %v", err, os.ErrClosed)
	}
}

// A batch of puts commits together; a put whose caller gave up fails alone
// while the rest of its batch is stored, and a row already stored is
// reported as such, not inserted again.
func TestPutBatchIsolatesItsPuts(t *testing.T) {
	t.Parallel()
	l := openStore(t, t.TempDir(), LocalOptions{})
	first := put(t, l, []byte("stored before"), PutOptions{ContentType: "text/plain"})
	gone, cancel := context.WithCancel(t.Context())
	cancel()
	op := func(ctx context.Context, id string) *putOp {
		data := []byte("content of " + id)
		return &putOp{ctx: ctx, info: &Info{ID: id, Size: int64(len(data)), ContentType: "image/png"}, data: data}
	}
	batch := []*putOp{op(t.Context(), "a"), op(gone, "b"), op(t.Context(), first.ID), op(t.Context(), "c")}
	batch[2].data, batch[2].info.Size = []byte("stored before"), int64(len("stored before"))

	errs := l.inline.putBatch(batch)
	if errs[0] != nil || errs[2] != nil || errs[3] != nil {
		t.Errorf("healthy puts failed: %v", errs)
	}
	if !errors.Is(errs[1], context.Canceled) {
		t.Errorf("the abandoned put: err = %v, want context.Canceled", errs[1])
	}
	if !batch[0].inserted || batch[2].inserted || !batch[3].inserted {
		t.Errorf("inserted = %v %v %v, want true false true", batch[0].inserted, batch[2].inserted, batch[3].inserted)
	}
	want := []string{"a", "c", first.ID}
	slices.Sort(want)
	if diff := cmp.Diff(want, rows(t, l)); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

// Concurrent puts, some of the same content, all return their blob, and the
// first content type of a blob wins for every caller.
func TestConcurrentPuts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l := openStore(t, dir, LocalOptions{})
	const n = 32
	infos := make([]Info, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			content := fmt.Appendf(nil, "output %d", i%(n/2)) // each content twice
			infos[i], errs[i] = l.Put(t.Context(), bytes.NewReader(content), PutOptions{ContentType: fmt.Sprintf("image/x-%d", i)})
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Put %d: %v", i, errs[i])
		}
		twin := infos[(i+n/2)%n]
		if infos[i].ID != twin.ID || infos[i].ContentType != twin.ContentType {
			t.Errorf("put %d = %+v, its twin = %+v: same content, same blob", i, infos[i], twin)
		}
	}
	if got := len(rows(t, l)); got != n/2 {
		t.Errorf("%d rows, want %d", got, n/2)
	}
}
