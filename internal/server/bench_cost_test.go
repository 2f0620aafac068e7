package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/comfygate/comfygate/api"
)

// BenchmarkJobCost runs jobs through a comfygate process in front of four
// zero-delay simulators, with concurrent clients on each of its two paths:
//
//   - rest: POST /v1/jobs, its event stream (SSE) until the terminal
//     event, then GET of the output;
//   - comfy: what a typical ComfyUI client does, through the
//     ComfyUI-compatible surface: POST /prompt, its own /ws until
//     "executing" with node null, GET /history/{id}, GET /view.
//
// comfygate and the simulators each run in a process of their own, so the
// metrics are comfygate's alone: cpu-µs/job is its user+system CPU time
// over the jobs (on a shared machine a steadier figure than wall time),
// jobs/s and the p50/p99 of one job as its client saw it, idle-rss-MB its
// resident memory once ready with nothing to do, peak-rss-MB the most it
// held by the end of the run. The design's budgets: ≤ 1,000 µs of CPU per
// job, ≤ 40 MB idle, ≤ 100 MB under the 8-client load.
func BenchmarkJobCost(b *testing.B) {
	for _, path := range []string{"rest", "comfy"} {
		for _, clients := range []int{8, 16} {
			b.Run(fmt.Sprintf("path=%s/clients=%d", path, clients), func(b *testing.B) {
				benchJobCost(b, path, clients)
			})
		}
	}
}

func benchJobCost(b *testing.B, path string, clients int) {
	sims := startChild(b, "sims 4", 4)
	gw := startChild(b, "gateway "+strings.Join(sims.URLs, ","), 1)
	base := gw.URLs[0]
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * clients}}
	b.Cleanup(hc.CloseIdleConnections)
	waitBackends(b, hc, base, len(sims.URLs))
	idle := gw.stats(b)
	run := costRunners(b, hc, base, path, clients)
	measure(b, clients, 4*clients, run) // warm up: connections, caches, the first pages of the store
	b.ResetTimer()
	before, start := gw.stats(b), time.Now()
	lat := measure(b, clients, b.N, run)
	elapsed, after := time.Since(start), gw.stats(b)
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64((after.CPU-before.CPU).Microseconds())/float64(b.N), "cpu-µs/job")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "jobs/s")
	b.ReportMetric(lat[len(lat)/2], "p50-ms")
	b.ReportMetric(lat[len(lat)*99/100], "p99-ms")
	b.ReportMetric(float64(idle.RSS)/(1<<20), "idle-rss-MB")
	b.ReportMetric(float64(after.PeakRSS)/(1<<20), "peak-rss-MB")
}

// waitBackends waits until all n backends are healthy.
func waitBackends(tb testing.TB, hc *http.Client, base string, n int) {
	tb.Helper()
	ok := poll(func() bool {
		var list struct {
			Backends []api.Backend `json:"backends"`
		}
		if err := getJSON(hc, base+"/v1/backends", &list); err != nil {
			return false
		}
		healthy := 0
		for _, bk := range list.Backends {
			if bk.State == "healthy" {
				healthy++
			}
		}
		return healthy == n
	})
	if !ok {
		tb.Fatalf("%d backends never became healthy", n)
	}
}

// costRunners returns the runner of one job on path for client i.
func costRunners(tb testing.TB, hc *http.Client, base, path string, clients int) runner {
	jobs := &colorSource{}
	if path == "rest" {
		return func(tb testing.TB, _ int) time.Duration {
			start := time.Now()
			if err := restJob(hc, base, jobs.next()); err != nil {
				tb.Error(err)
			}
			return time.Since(start)
		}
	}
	socks := make([]*comfySocket, clients)
	for i := range socks {
		socks[i] = dialComfy(tb, base, fmt.Sprintf("cost-client-%d", i))
	}
	return func(tb testing.TB, i int) time.Duration {
		start := time.Now()
		if err := socks[i].job(hc, base, jobs.next()); err != nil {
			tb.Error(err)
		}
		return time.Since(start)
	}
}

// colorSource makes the graph of ComfyUI's small model-free benchmark
// (EmptyImage → ImageInvert → ImageScale → SaveImage, a 96×72 PNG), each
// with a colour of its own so that no backend answers it from its cache.
type colorSource struct{ n atomic.Int64 }

func (c *colorSource) next() json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{
 "1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 48, "batch_size": 1, "color": %d}},
 "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
 "3": {"class_type": "ImageScale", "inputs": {"image": ["2", 0], "upscale_method": "bilinear", "width": 96, "height": 72, "crop": "disabled"}},
 "4": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": "bench"}}}`, c.n.Add(1)%0xFFFFFF))
}

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// restJob submits graph, follows its event stream to the end and fetches
// its output.
func restJob(hc *http.Client, base string, graph json.RawMessage) error {
	body, _ := json.Marshal(api.SubmitJobRequest{Prompt: graph})
	var j api.Job
	if err := postJSON(hc, base+"/v1/jobs", body, http.StatusCreated, &j); err != nil {
		return err
	}
	end, err := streamEnd(hc, base+"/v1/jobs/"+j.ID+"/events")
	if err != nil {
		return err
	}
	if end.State != api.StateSucceeded || len(end.Outputs) == 0 {
		return fmt.Errorf("job %s ended %s with %d outputs", j.ID, end.State, len(end.Outputs))
	}
	return getPNG(hc, base+end.Outputs[0].URL)
}

// streamEnd reads an SSE job stream up to its terminal event and returns
// the job that event carries.
func streamEnd(hc *http.Client, u string) (api.Job, error) {
	resp, err := hc.Get(u)
	if err != nil {
		return api.Job{}, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		data, ok := bytes.CutPrefix(sc.Bytes(), []byte("data: "))
		if !ok {
			continue
		}
		var ev api.Event
		if err := json.Unmarshal(data, &ev); err != nil {
			return api.Job{}, err
		}
		if api.TerminalEvent(ev.Type) {
			var j api.Job
			return j, json.Unmarshal(ev.Data, &j)
		}
	}
	return api.Job{}, fmt.Errorf("stream %s ended early: %v", u, sc.Err())
}

// comfySocket is one ComfyUI client: its client id and its /ws.
type comfySocket struct {
	id string
	ws *websocket.Conn
}

func dialComfy(tb testing.TB, base, id string) *comfySocket {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/ws?clientId="+id, nil)
	if err != nil {
		tb.Fatal(err)
	}
	ws.SetReadLimit(16 << 20)
	tb.Cleanup(func() { ws.CloseNow() })
	return &comfySocket{id: id, ws: ws}
}

// job runs graph the way ComfyUI's own script examples do.
func (c *comfySocket) job(hc *http.Client, base string, graph json.RawMessage) error {
	body, _ := json.Marshal(map[string]any{"prompt": graph, "client_id": c.id})
	var queued struct {
		PromptID string `json:"prompt_id"`
	}
	if err := postJSON(hc, base+"/prompt", body, http.StatusOK, &queued); err != nil {
		return err
	}
	if err := c.waitDone(queued.PromptID); err != nil {
		return err
	}
	var hist map[string]struct {
		Outputs map[string]struct {
			Images []struct{ Filename, Subfolder, Type string } `json:"images"`
		} `json:"outputs"`
	}
	if err := getJSON(hc, base+"/history/"+queued.PromptID, &hist); err != nil {
		return err
	}
	for _, out := range hist[queued.PromptID].Outputs {
		for _, im := range out.Images {
			q := url.Values{"filename": {im.Filename}, "subfolder": {im.Subfolder}, "type": {im.Type}}
			return getPNG(hc, base+"/view?"+q.Encode())
		}
	}
	return fmt.Errorf("prompt %s: no image in its history", queued.PromptID)
}

// waitDone reads the socket until the prompt's "executing" with node null.
func (c *comfySocket) waitDone(promptID string) error {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for {
		typ, data, err := c.ws.Read(ctx)
		if err != nil {
			return err
		}
		if typ != websocket.MessageText {
			continue
		}
		var m struct {
			Type string `json:"type"`
			Data struct {
				Node     *string `json:"node"`
				PromptID string  `json:"prompt_id"`
			} `json:"data"`
		}
		if err := json.Unmarshal(data, &m); err != nil {
			return err
		}
		switch {
		case m.Data.PromptID != promptID:
		case m.Type == "execution_error" || m.Type == "execution_interrupted":
			return errors.New(m.Type)
		case m.Type == "executing" && m.Data.Node == nil:
			return nil
		}
	}
}

func postJSON(hc *http.Client, u string, body []byte, want int, out any) error {
	resp, err := hc.Post(u, "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	return decodeAnswer(resp, u, want, out)
}

func getJSON(hc *http.Client, u string, out any) error {
	resp, err := hc.Get(u)
	if err != nil {
		return err
	}
	return decodeAnswer(resp, u, http.StatusOK, out)
}

func decodeAnswer(resp *http.Response, u string, want int, out any) error {
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s: %d %.300s", u, resp.StatusCode, b)
	}
	return json.Unmarshal(b, out)
}

func getPNG(hc *http.Client, u string) error {
	resp, err := hc.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !bytes.HasPrefix(b, pngMagic) {
		return fmt.Errorf("%s: %d, not a PNG", u, resp.StatusCode)
	}
	return nil
}
