package server

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkMemoryBudget runs the memory report's hostile requests against
// a whole gateway and reports the process's peak memory while they run:
//
//   - the 8192×8192 PNG bomb (a 196 KB file) uploaded through /upload/image,
//     then three concurrent /view?…&preview=webp;90, three concurrent
//     channel=rgb and three concurrent /upload/mask with the bomb as both
//     image and mask;
//   - three concurrent 88 MiB POST /prompt bodies (11 text nodes of 8 MiB),
//     then GET /queue and GET /history;
//   - prompts-at-limit: the same with bodies just under the prompt limit
//     (8 MiB), which are taken, so that /queue lists 24 MiB of prompts.
//
// "idle" is the baseline: the same measurement with no request.
//
// peak-heap+stack-MB is the most heap (objects and in-use spans) plus
// goroutine stacks the runtime held, sampled every millisecond;
// peak-rss-MB is the kernel's high-water mark of the process's resident
// memory (VmHWM, reset before the requests), so it also counts the test
// binary, the store and memory the runtime has not returned yet. The
// design's budget is 400 MB of RSS. Statuses are reported as metrics so a
// refusal (413) is visible next to the figure.
//
// The gateway runs without backends: the prompts stay queued, so /queue
// lists them, and no in-process simulator's memory is counted.
//
// ceilingMB aborts the run when the heap passes it (before the budget was
// kept, this scenario took 10 GB), so that a regression cannot take the
// machine down.
func BenchmarkMemoryBudget(b *testing.B) {
	const ceilingMB = 4096
	bomb, err := os.ReadFile("../../comfy/comfysim/testdata/bomb-8192.png")
	if err != nil {
		b.Fatal(err)
	}
	s := startServer(b, Config{})
	c := client(b)
	base := s.URL()
	if code, body := uploadImage(b, c, base, "/upload/image", "bomb.png", bomb, nil); code != http.StatusOK {
		b.Fatalf("upload: %d %s", code, body)
	}
	prompt := hugePrompt{nodes: 11, size: 8 << 20}
	for _, part := range []string{"idle", "images", "prompts", "prompts-at-limit", "all"} {
		b.Run(part, func(b *testing.B) {
			for b.Loop() {
				debug.FreeOSMemory() // the RSS counted from here is the live set
				resetPeakRSS(b)
				peak := watchMemory(ceilingMB)
				codes := memoryScenario(b, c, base, part, bomb, prompt)
				heap := peak.stop()
				b.ReportMetric(float64(heap)/(1<<20), "peak-heap+stack-MB")
				b.ReportMetric(float64(peakRSS(b))/(1<<20), "peak-rss-MB")
				for k, code := range codes {
					b.ReportMetric(float64(code), k+"-status")
				}
			}
		})
	}
}

// memoryScenario sends the requests and returns one status per kind (the
// last seen; every request of a kind is expected to answer alike).
func memoryScenario(tb testing.TB, c *http.Client, base, part string, bomb []byte, prompt hugePrompt) map[string]int {
	tb.Helper()
	var mu sync.Mutex
	codes := map[string]int{}
	note := func(k string, code int) {
		mu.Lock()
		defer mu.Unlock()
		codes[k] = code
	}
	if part == "idle" {
		return codes
	}
	if part == "images" || part == "all" {
		imageRequests(tb, c, base, bomb, note)
	}
	if part == "prompts-at-limit" {
		// Two strings of just under 4 MiB: a body just under the
		// default 8 MiB limit, which is taken.
		prompt = hugePrompt{nodes: 2, size: 4<<20 - 4<<10}
	}
	if part != "images" {
		promptRequests(tb, c, base, prompt, note)
	}
	return codes
}

func imageRequests(tb testing.TB, c *http.Client, base string, bomb []byte, note func(string, int)) {
	ref := `{"filename": "bomb.png", "subfolder": "", "type": "input"}`
	concurrently(3, func(int) {
		code, _ := fetch(tb, c, http.MethodGet, base+"/view?filename=bomb.png&type=input&subfolder=&preview=webp;90", nil)
		note("view", code)
	})
	concurrently(3, func(int) {
		code, _ := fetch(tb, c, http.MethodGet, base+"/view?filename=bomb.png&type=input&subfolder=&channel=rgb", nil)
		note("rgb", code)
	})
	concurrently(3, func(i int) {
		code, _ := uploadImage(tb, c, base, "/upload/mask", fmt.Sprintf("mask-%d.png", i), bomb, map[string]string{"original_ref": ref})
		note("mask", code)
	})
}

func promptRequests(tb testing.TB, c *http.Client, base string, prompt hugePrompt, note func(string, int)) {
	concurrently(3, func(int) {
		body, n := prompt.body()
		req, err := http.NewRequest(http.MethodPost, base+"/prompt", body)
		if err != nil {
			tb.Error(err)
			return
		}
		req.ContentLength = n
		resp, err := c.Do(req)
		if err != nil {
			note("prompt", 0) // a refusal may close the connection while the body is sent
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		note("prompt", resp.StatusCode)
	})
	code, _ := fetch(tb, c, http.MethodGet, base+"/queue", nil)
	note("queue", code)
	code, _ = fetch(tb, c, http.MethodGet, base+"/history", nil)
	note("history", code)
}

func concurrently(n int, fn func(i int)) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { fn(i) })
	}
	wg.Wait()
}

// fetch sends one request and reads the answer to the end, so a streamed
// answer is produced in full.
func fetch(tb testing.TB, c *http.Client, method, url string, body []byte) (int, int64) {
	tb.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		tb.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		tb.Errorf("%s %s: %v", method, url, err)
		return 0, 0
	}
	defer resp.Body.Close()
	n, _ := io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, n
}

// uploadImage posts a multipart form with an "image" file and fields.
func uploadImage(tb testing.TB, c *http.Client, base, path, name string, data []byte, fields map[string]string) (int, []byte) {
	tb.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("image", name)
	_, _ = fw.Write(data)
	_ = mw.Close()
	resp, err := c.Post(base+path, mw.FormDataContentType(), &buf)
	if err != nil {
		tb.Errorf("upload %s: %v", path, err)
		return 0, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// hugePrompt is a /prompt body of nodes text nodes, each holding a string
// of size bytes (the report's 88 MiB body for 11 × 8 MiB), made as it is
// read so that the benchmark itself holds none of it.
type hugePrompt struct{ nodes, size int }

func (p hugePrompt) body() (io.Reader, int64) {
	var parts []io.Reader
	var n int64
	add := func(r io.Reader, size int64) {
		parts = append(parts, r)
		n += size
	}
	str := func(s string) { add(strings.NewReader(s), int64(len(s))) }
	str(`{"prompt": {`)
	for i := range p.nodes {
		if i > 0 {
			str(", ")
		}
		str(fmt.Sprintf(`"%d": {"class_type": "PrimitiveString", "inputs": {"value": "`, i+1))
		add(io.LimitReader(repeatByte('a'), int64(p.size)), int64(p.size))
		str(`"}}`)
	}
	str(`}}`)
	return io.MultiReader(parts...), n
}

// repeatByte reads as an endless run of one byte.
type repeatByte byte

func (b repeatByte) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

// memoryWatch samples the runtime's heap and stacks until stopped.
type memoryWatch struct {
	peak atomic.Uint64
	done chan struct{}
	wg   sync.WaitGroup
}

var memorySamples = []string{
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/heap/stacks:bytes",
	"/memory/classes/os-stacks:bytes",
}

// watchMemory starts sampling; past ceilingMB it ends the process, since
// a run that far over budget would only get worse.
func watchMemory(ceilingMB uint64) *memoryWatch {
	w := &memoryWatch{done: make(chan struct{})}
	w.wg.Go(func() {
		samples := make([]metrics.Sample, len(memorySamples))
		for i, name := range memorySamples {
			samples[i].Name = name
		}
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(samples)
			var total uint64
			for _, s := range samples {
				total += s.Value.Uint64()
			}
			if total > w.peak.Load() {
				w.peak.Store(total)
			}
			if total > ceilingMB<<20 {
				fmt.Fprintf(os.Stderr, "memory ceiling: heap+stack %d MB > %d MB; stopping\n", total>>20, ceilingMB)
				os.Exit(3)
			}
			select {
			case <-w.done:
				return
			case <-tick.C:
			}
		}
	})
	return w
}

func (w *memoryWatch) stop() uint64 {
	close(w.done)
	w.wg.Wait()
	return w.peak.Load()
}

// resetPeakRSS starts the kernel's high-water mark over (Linux; elsewhere
// the figure is the process's peak so far).
func resetPeakRSS(tb testing.TB) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		tb.Logf("cannot reset the RSS high-water mark: %v", err)
	}
}

// peakRSS is VmHWM of /proc/self/status in bytes (0 where there is none).
func peakRSS(tb testing.TB) uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		tb.Logf("no /proc/self/status: %v", err)
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
