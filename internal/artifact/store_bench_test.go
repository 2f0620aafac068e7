package artifact_test

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"testing"

	"github.com/comfygate/comfygate/internal/artifact"
	"github.com/comfygate/comfygate/internal/artifact/artifacttest"
)

// benchStores are the stores the benchmarks compare, in one run.
var benchStores = []struct {
	name string
	open artifacttest.NewStore
}{
	{"local", localStores(0)},
	{"s3", newS3Default},
}

// newS3Default is a store on the test server with the production part
// size (the contract tests use S3's smallest, to exercise multipart).
func newS3Default(tb testing.TB, o artifacttest.Options) artifact.Backend {
	tb.Helper()
	cfg := s3Config(tb, o)
	cfg.PartSize = 0
	return openS3(tb, cfg)
}

// BenchmarkPut streams new content into each store: MB/s is the whole Put
// (hashing, staging, upload); B/op shows memory does not grow with size.
func BenchmarkPut(b *testing.B) {
	for _, st := range benchStores {
		for _, size := range []int64{1 << 20, 100 << 20} {
			b.Run(fmt.Sprintf("%s/%dMB", st.name, size>>20), func(b *testing.B) {
				s := st.open(b, artifacttest.Options{})
				seed := int64(0)
				b.SetBytes(size)
				b.ReportAllocs()
				for b.Loop() {
					seed++ // new content each time: a repeat would be deduplicated
					if _, err := s.Put(b.Context(), artifacttest.NewPattern(size, seed), artifact.PutOptions{}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkOpen reads a 100 MB blob whole from each store.
func BenchmarkOpen(b *testing.B) {
	const size = 100 << 20
	for _, st := range benchStores {
		b.Run(st.name+"/100MB", func(b *testing.B) {
			s := st.open(b, artifacttest.Options{})
			info, err := s.Put(b.Context(), artifacttest.NewPattern(size, 1), artifact.PutOptions{})
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 256<<10)
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				blob, err := s.Open(b.Context(), info.ID)
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.CopyBuffer(io.Discard, blob, buf)
				blob.Close()
				if err != nil || n != size {
					b.Fatalf("read %d bytes: %v", n, err)
				}
			}
		})
	}
}

// BenchmarkServeRange asks a 100 MB blob for 64 KiB at random offsets over
// HTTP, as a video player seeking does: each request costs one Open and,
// on S3, one ranged GET.
func BenchmarkServeRange(b *testing.B) {
	const size, chunk = 100 << 20, 64 << 10
	for _, st := range benchStores {
		b.Run(st.name, func(b *testing.B) {
			s := st.open(b, artifacttest.Options{})
			info, err := s.Put(b.Context(), artifacttest.NewPattern(size, 1), artifact.PutOptions{ContentType: "video/mp4"})
			if err != nil {
				b.Fatal(err)
			}
			srv := artifacttest.ServeStore(b, s)
			client := srv.Client()
			rng := rand.New(rand.NewPCG(1, 2))
			b.SetBytes(chunk)
			b.ReportAllocs()
			for b.Loop() {
				off := rng.Int64N(size - chunk)
				req, _ := http.NewRequestWithContext(b.Context(), http.MethodGet, srv.URL+"/"+info.ID, nil)
				req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, off+chunk-1))
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || n != chunk || resp.StatusCode != http.StatusPartialContent {
					b.Fatalf("got %d bytes, status %d, err %v", n, resp.StatusCode, err)
				}
			}
		})
	}
}
