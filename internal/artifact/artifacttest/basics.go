package artifacttest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/comfygate/comfygate/internal/artifact"
)

var basicTests = map[string]func(*testing.T, NewStore){
	"RoundTrip":          testRoundTrip,
	"PutIdempotent":      testPutIdempotent,
	"Empty":              testEmpty,
	"Delete":             testDelete,
	"PutAfterDelete":     testPutAfterDelete,
	"Ready":              testReady,
	"CancelledContext":   testCancelledContext,
	"ConcurrentSamePuts": testConcurrentSamePuts,
}

func testRoundTrip(t *testing.T, newStore NewStore) {
	s := newStore(t, Options{})
	content := []byte("hello, artifact")
	info := Put(t, s, content, artifact.PutOptions{ContentType: "text/plain"})
	want := artifact.Info{ID: SHA(content), Size: int64(len(content)), ContentType: "text/plain"}
	if diff := cmp.Diff(want, info); diff != "" {
		t.Fatalf("Put info mismatch (-want +got):\n%s", diff)
	}
	b, err := s.Open(t.Context(), want.ID)
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
	if st, err := s.Stat(t.Context(), want.ID); err != nil || st != want {
		t.Errorf("Stat = %+v, %v; want %+v", st, err, want)
	}
	if ok, err := s.Exists(t.Context(), want.ID); !ok || err != nil {
		t.Errorf("Exists = %v, %v; want true", ok, err)
	}
}

// The first Put of some content decides its recorded type.
func testPutIdempotent(t *testing.T, newStore NewStore) {
	s := newStore(t, Options{})
	content := []byte("same bytes")
	first := Put(t, s, content, artifact.PutOptions{ContentType: "text/plain"})
	second := Put(t, s, content, artifact.PutOptions{ContentType: "application/json"})
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("second Put differs (-first +second):\n%s", diff)
	}
	if got := readAll(t, s, first.ID); !bytes.Equal(got, content) {
		t.Errorf("content = %q, want %q", got, content)
	}
}

func testEmpty(t *testing.T, newStore NewStore) {
	s := newStore(t, Options{})
	info := Put(t, s, nil, artifact.PutOptions{})
	if want := (artifact.Info{ID: SHA(nil), Size: 0, ContentType: "text/plain; charset=utf-8"}); info != want {
		t.Errorf("Put(empty) = %+v, want %+v", info, want)
	}
	b, err := s.Open(t.Context(), info.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if n, err := b.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Errorf("Read = %d, %v; want 0, EOF", n, err)
	}
	if st, err := s.Stat(t.Context(), info.ID); err != nil || st != info {
		t.Errorf("Stat = %+v, %v; want %+v", st, err, info)
	}
}

func testDelete(t *testing.T, newStore NewStore) {
	s := newStore(t, Options{})
	info := Put(t, s, []byte("bye"), artifact.PutOptions{})
	kept := Put(t, s, []byte("stay"), artifact.PutOptions{})
	if err := s.Delete(t.Context(), info.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(t.Context(), info.ID); !errors.Is(err, artifact.ErrNotFound) {
		t.Errorf("Open after Delete: err = %v, want ErrNotFound", err)
	}
	wantAbsent(t, s, info.ID, "after Delete")
	if err := s.Delete(t.Context(), info.ID); err != nil {
		t.Errorf("second Delete: %v, want nil", err)
	}
	if got := readAll(t, s, kept.ID); string(got) != "stay" {
		t.Errorf("other blob = %q after Delete", got)
	}
}

func testPutAfterDelete(t *testing.T, newStore NewStore) {
	s := newStore(t, Options{})
	content := []byte("back again")
	info := Put(t, s, content, artifact.PutOptions{ContentType: "text/plain"})
	if err := s.Delete(t.Context(), info.ID); err != nil {
		t.Fatal(err)
	}
	again := Put(t, s, content, artifact.PutOptions{ContentType: "application/json"})
	if again.ContentType != "application/json" {
		t.Errorf("re-Put after Delete kept the old type: %+v", again)
	}
	if got := readAll(t, s, info.ID); !bytes.Equal(got, content) {
		t.Errorf("content = %q, want %q", got, content)
	}
}

func testReady(t *testing.T, newStore NewStore) {
	s := newStore(t, Options{})
	if err := s.Ready(t.Context()); err != nil {
		t.Errorf("Ready on a working store: %v", err)
	}
}

func testCancelledContext(t *testing.T, newStore NewStore) {
	s := newStore(t, Options{})
	info := Put(t, s, []byte("x"), artifact.PutOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, openErr := s.Open(ctx, info.ID)
	_, statErr := s.Stat(ctx, info.ID)
	_, existsErr := s.Exists(ctx, info.ID)
	_, putErr := s.Put(ctx, strings.NewReader("y"), artifact.PutOptions{})
	for op, err := range map[string]error{"Open": openErr, "Stat": statErr, "Exists": existsErr, "Put": putErr} {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: err = %v, want context.Canceled", op, err)
		}
	}
	wantAbsent(t, s, SHA([]byte("y")), "Put with a cancelled context")
}

// Concurrent Puts of the same content all succeed with the same Info,
// and the content is stored whole.
func testConcurrentSamePuts(t *testing.T, newStore NewStore) {
	s := newStore(t, Options{})
	content := bytes.Repeat([]byte("comfy"), 200<<10) // 1 MB
	errs := make(chan error, 16)
	infos := make([]artifact.Info, 16)
	for i := range infos {
		go func() {
			var err error
			infos[i], err = s.Put(context.Background(), bytes.NewReader(content), artifact.PutOptions{})
			errs <- err
		}()
	}
	for range infos {
		if err := <-errs; err != nil {
			t.Errorf("Put: %v", err)
		}
	}
	want := artifact.Info{ID: SHA(content), Size: int64(len(content)), ContentType: "text/plain; charset=utf-8"}
	for i, info := range infos {
		if info != want {
			t.Errorf("Put %d = %+v, want %+v", i, info, want)
		}
	}
	if got := readAll(t, s, want.ID); !bytes.Equal(got, content) {
		t.Error("stored content differs")
	}
}
