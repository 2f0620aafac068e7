package artifact

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

// BenchmarkServe100MB downloads one 100 MB blob over loopback HTTP per op:
// MB/s is the streaming throughput, B/op shows memory stays flat.
func BenchmarkServe100MB(b *testing.B) {
	const size = 100 << 20
	l := newStore(b, LocalOptions{})
	content := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	info := put(b, l, content, PutOptions{ContentType: "video/mp4"})
	content = nil
	srv := serveStore(b, l)
	url := srv.URL + "/" + info.ID
	client := srv.Client()

	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		resp, err := client.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || n != size || resp.StatusCode != http.StatusOK {
			b.Fatalf("got %d bytes, status %d, err %v", n, resp.StatusCode, err)
		}
	}
}
