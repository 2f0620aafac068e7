package artifacttest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/comfygate/comfygate/internal/artifact"
)

var putTests = map[string]func(*testing.T, NewStore){
	"TooLarge":        testTooLarge,
	"FailureStoresNo": testFailureStoresNothing,
	"BadOptions":      testBadOptions,
	"DetectType":      testDetectType,
	"Large":           testLarge,
}

func testTooLarge(t *testing.T, newStore NewStore) {
	tests := []struct {
		name    string
		size    int
		opts    artifact.PutOptions
		store   Options
		wantErr int64 // the limit reported, 0 for success
	}{
		{"at limit", 100, artifact.PutOptions{MaxSize: 100}, Options{}, 0},
		{"one over", 101, artifact.PutOptions{MaxSize: 100}, Options{}, 100},
		{"far over", 1 << 20, artifact.PutOptions{MaxSize: 100}, Options{}, 100},
		{"store default", 65, artifact.PutOptions{}, Options{MaxSize: 64}, 64},
		{"put limit beats store's", 65, artifact.PutOptions{MaxSize: 100}, Options{MaxSize: 64}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t, tc.store)
			content := bytes.Repeat([]byte{byte(tc.size)}, tc.size)
			_, err := s.Put(t.Context(), bytes.NewReader(content), tc.opts)
			if tc.wantErr == 0 {
				if err != nil {
					t.Fatalf("Put: %v", err)
				}
				return
			}
			var tooLarge *artifact.TooLargeError
			if !errors.Is(err, artifact.ErrTooLarge) || !errors.As(err, &tooLarge) || tooLarge.Limit != tc.wantErr {
				t.Fatalf("Put error = %v, want TooLargeError{Limit: %d}", err, tc.wantErr)
			}
			for _, n := range []int64{tc.wantErr, tc.wantErr + 1, int64(tc.size)} {
				wantAbsent(t, s, SHA(content[:n]), "after ErrTooLarge")
			}
		})
	}
}

// failingReader yields n zero bytes and then an error.
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

// A failed Put stores nothing: not the part it read either.
func testFailureStoresNothing(t *testing.T, newStore NewStore) {
	boom := errors.New("connection reset")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		r       io.Reader
		partial []byte // what was read before the failure
		wantErr error
	}{
		{"reader fails", context.Background(), &failingReader{n: 100 << 10, err: boom}, make([]byte, 100<<10), boom},
		{"context cancelled", cancelled, strings.NewReader("x"), []byte("x"), context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t, Options{})
			if _, err := s.Put(tc.ctx, tc.r, artifact.PutOptions{}); !errors.Is(err, tc.wantErr) {
				t.Fatalf("Put error = %v, want %v", err, tc.wantErr)
			}
			wantAbsent(t, s, SHA(tc.partial), "after a failed Put")
		})
	}
}

func testBadOptions(t *testing.T, newStore NewStore) {
	s := newStore(t, Options{})
	tests := map[string]artifact.PutOptions{
		"negative size": {MaxSize: -1},
		"bad type":      {ContentType: "not a type;;"},
		"long type":     {ContentType: "text/plain; x=" + strings.Repeat("a", 300)},
	}
	for name, opts := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := s.Put(t.Context(), strings.NewReader("x"), opts); err == nil {
				t.Errorf("Put succeeded, want an error")
			}
		})
	}
	wantAbsent(t, s, SHA([]byte("x")), "after refused Puts")
}

func testDetectType(t *testing.T, newStore NewStore) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	tests := []struct {
		name    string
		content []byte
		opts    artifact.PutOptions
		want    string
	}{
		{"png sniffed", png, artifact.PutOptions{}, "image/png"},
		{"json by extension", []byte(`{"a":1}`), artifact.PutOptions{Name: "out.JSON"}, "application/json"},
		{"text without name", []byte("plain words"), artifact.PutOptions{}, "text/plain; charset=utf-8"},
		{"unknown binary", []byte{0, 1, 2, 3}, artifact.PutOptions{Name: "model.safetensors-unknown"}, "application/octet-stream"},
		{"sniff beats extension", []byte("<html><body>hi"), artifact.PutOptions{Name: "cat.png"}, "text/html; charset=utf-8"},
		{"given type normalised", png, artifact.PutOptions{ContentType: "Image/PNG"}, "image/png"},
		{"given type wins", png, artifact.PutOptions{ContentType: "image/webp"}, "image/webp"},
		{"parameters kept", []byte("x"), artifact.PutOptions{ContentType: `text/plain; charset="utf-8"`}, "text/plain; charset=utf-8"},
	}
	s := newStore(t, Options{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// One store, distinct content per case: the first Put decides.
			content := append([]byte(nil), tc.content...)
			content = append(content, tc.name...)
			info := Put(t, s, content, tc.opts)
			if info.ContentType != tc.want {
				t.Errorf("Put ContentType = %q, want %q", info.ContentType, tc.want)
			}
			if st, err := s.Stat(t.Context(), info.ID); err != nil || st.ContentType != tc.want {
				t.Errorf("Stat ContentType = %q, %v; want %q", st.ContentType, err, tc.want)
			}
		})
	}
}

// LargeSize is the size of the large blob test: a video output.
const LargeSize = 100 << 20

// testLarge streams a 100 MB blob in and out: the bytes and the hash
// survive, and reads deep inside it return the right bytes. (That memory
// stays flat is shown by the benchmarks' B/op, not asserted here.)
func testLarge(t *testing.T, newStore NewStore) {
	if testing.Short() {
		t.Skip("100 MB blob: skipped with -short")
	}
	s := newStore(t, Options{})
	src := NewPattern(LargeSize, 1)
	info, err := s.Put(t.Context(), src, artifact.PutOptions{Name: "clip.mp4"})
	if err != nil {
		t.Fatal(err)
	}
	want := artifact.Info{ID: PatternID(LargeSize, 1), Size: LargeSize, ContentType: "video/mp4"}
	if info != want {
		t.Fatalf("Put = %+v, want %+v", info, want)
	}
	b, err := s.Open(t.Context(), info.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if got := hashOf(t, b); got != info.ID {
		t.Errorf("read back hash %s, want %s", got, info.ID)
	}
	for _, off := range []int64{LargeSize - 1000, 12345, LargeSize / 2} {
		if _, err := b.Seek(off, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, 1000)
		if _, err := io.ReadFull(b, got); err != nil {
			t.Fatalf("read 1000 bytes at %d: %v", off, err)
		}
		if want := PatternAt(1, off, 1000); !bytes.Equal(got, want) {
			t.Errorf("bytes at %d differ", off)
		}
	}
}
