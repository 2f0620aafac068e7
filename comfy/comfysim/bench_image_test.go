package comfysim_test

import (
	"io"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/comfygate/comfygate/comfy/comfysim"
)

// heapPeak samples the heap while work runs and reports how far above the
// starting (collected) heap it got.
type heapPeak struct {
	stop chan struct{}
	done chan uint64
	base uint64
}

func startHeapPeak() *heapPeak {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	h := &heapPeak{stop: make(chan struct{}), done: make(chan uint64), base: ms.HeapAlloc}
	go func() {
		peak := ms.HeapAlloc
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapAlloc)
			select {
			case <-h.stop:
				h.done <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return h
}

// end returns the peak above the base, in MB.
func (h *heapPeak) end() float64 {
	close(h.stop)
	return float64(<-h.done-h.base) / (1 << 20)
}

// BenchmarkViewReencodeMemory reports the simulator's peak heap while
// serving three concurrent re-encodes of one file: the 196 KB PNG
// declaring 8192×8192 pixels and a 5000×5000 one (within the tensor pixel
// limit but not the image budget), both refused from their headers, and a
// 2048×2048 noise and black PNGs (within the default budget, so the three
// take turns).
func BenchmarkViewReencodeMemory(b *testing.B) {
	s := comfysim.Start(b, comfysim.Options{Seed: 1})
	putInput(b, s, "bomb.png", bombPNG(b))
	putInput(b, s, "big.png", hugeZeroPNG(b, 5000, 5000))
	putInput(b, s, "noise.png", noisePNG(b, 2048, 2048))
	putInput(b, s, "smooth.png", hugeZeroPNG(b, 2048, 2048))
	cases := []struct {
		name, query string
		status      int
	}{
		{"8192sq-declared/webp", "filename=bomb.png&preview=webp;90", 500},
		{"8192sq-declared/jpeg", "filename=bomb.png&preview=jpeg;90", 500},
		{"8192sq-declared/channel-a", "filename=bomb.png&channel=a", 500},
		{"5000sq-declared/webp", "filename=big.png&preview=webp;90", 500},
		{"5000sq-declared/jpeg", "filename=big.png&preview=jpeg;90", 500},
		{"2048sq-noise/webp", "filename=noise.png&preview=webp;90", 200},
		{"2048sq-noise/jpeg", "filename=noise.png&preview=jpeg;90", 200},
		{"2048sq-black/webp", "filename=smooth.png&preview=webp;90", 200},
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 3}}
	defer client.CloseIdleConnections()
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			url := s.URL() + "/view?type=input&" + c.query
			peak := 0.0
			for b.Loop() {
				h := startHeapPeak()
				var wg sync.WaitGroup
				errs := make(chan int, 3)
				for range 3 {
					wg.Go(func() {
						resp, err := client.Get(url)
						if err != nil {
							errs <- -1
							return
						}
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						errs <- resp.StatusCode
					})
				}
				wg.Wait()
				peak = max(peak, h.end())
				close(errs)
				for st := range errs {
					if st != c.status {
						b.Fatalf("status %d, want %d", st, c.status)
					}
				}
			}
			b.ReportMetric(peak, "peak-heap-MB")
		})
	}
}
