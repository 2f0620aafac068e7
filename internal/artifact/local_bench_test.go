package artifact

import (
	"bytes"
	"encoding/binary"
	"syscall"
	"testing"
	"time"
)

// BenchmarkPutSmall stores new 20 KB blobs (an output of a small graph)
// in a local store: as a row of its blobs.db (the default for small
// blobs), and as a file with the content type on the file or in a sidecar.
// cpu-µs/op is the process's CPU time per Put, a steadier figure than wall
// time on a shared machine.
func BenchmarkPutSmall(b *testing.B) {
	for _, tc := range []struct {
		name    string
		opts    LocalOptions
		sidecar bool
	}{
		{"row", LocalOptions{}, false},
		{"file/type=attr", fileOnly, false},
		{"file/type=sidecar", fileOnly, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			if tc.opts.InlineMax < 0 && !tc.sidecar && !attrsHere(b) {
				b.Skip("the temp filesystem keeps no user extended attributes")
			}
			l := newStore(b, tc.opts)
			l.noAttrs.Store(tc.sidecar)
			content := bytes.Repeat([]byte("comfygate"), 20<<10/9)
			b.ReportAllocs()
			cpu0 := processCPU()
			n := uint64(0)
			for b.Loop() {
				n++
				binary.LittleEndian.PutUint64(content, n) // new content: a repeat is deduplicated
				if _, err := l.Put(b.Context(), bytes.NewReader(content), PutOptions{ContentType: "image/png"}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

// processCPU is the CPU time (user + system) this process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
