package comfyapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/comfygate/comfygate/comfy/comfysim"
)

// benchClient is what a typical ComfyUI client does per prompt: POST
// /prompt with its client_id, read its socket until "executing" with node
// null, then GET /history/{id}.
type benchClient struct {
	base string
	id   string
	hc   *http.Client
	ws   *websocket.Conn
	body []byte
}

func newBenchClient(b *testing.B, base, id string) *benchClient {
	b.Helper()
	ws, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(base, "http")+"/ws?clientId="+id, nil)
	if err != nil {
		b.Fatal(err)
	}
	ws.SetReadLimit(64 << 20)
	body, _ := json.Marshal(map[string]any{"prompt": imageGraph(16, 16, "bench/"+id), "client_id": id})
	return &benchClient{base: base, id: id, hc: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}, ws: ws, body: body}
}

func (c *benchClient) close() {
	c.ws.CloseNow()
	c.hc.CloseIdleConnections()
}

func (c *benchClient) run(ctx context.Context) error {
	resp, err := c.hc.Post(c.base+"/prompt", "application/json", bytes.NewReader(c.body))
	if err != nil {
		return err
	}
	var pr struct {
		PromptID string `json:"prompt_id"`
	}
	err = json.NewDecoder(resp.Body).Decode(&pr)
	resp.Body.Close()
	if err != nil || pr.PromptID == "" {
		return fmt.Errorf("prompt refused: %d %v", resp.StatusCode, err)
	}
	end := []byte(`"node":null,"prompt_id":"` + pr.PromptID + `"`)
	for {
		typ, data, err := c.ws.Read(ctx)
		if err != nil {
			return err
		}
		if typ == websocket.MessageText && bytes.Contains(bytes.ReplaceAll(data, []byte(" "), nil), end) {
			break
		}
	}
	h, err := c.hc.Get(c.base + "/history/" + pr.PromptID)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, h.Body)
	h.Body.Close()
	return nil
}

// runClients runs b.N prompts over n concurrent clients and reports the
// mean time one prompt takes from POST to history (ms/prompt).
func runClients(b *testing.B, base string, n int) {
	clients := make([]*benchClient, n)
	for i := range clients {
		clients[i] = newBenchClient(b, base, fmt.Sprintf("bench-%d", i))
	}
	defer func() {
		for _, c := range clients {
			c.close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var mu sync.Mutex
	var total time.Duration
	var firstErr error
	work := make(chan struct{}, b.N)
	for range b.N {
		work <- struct{}{}
	}
	close(work)
	b.ResetTimer()
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() {
			for range work {
				start := time.Now()
				err := c.run(ctx)
				mu.Lock()
				total += time.Since(start)
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/prompt")
}

// BenchmarkComfyCompatAddedLatency runs a small graph the way ComfyUI
// clients do, straight against the simulator and through comfygate's
// ComfyUI surface in front of it: the difference of ms/prompt is what
// comfygate adds (store writes, relay, output copy).
func BenchmarkComfyCompatAddedLatency(b *testing.B) {
	for _, n := range []int{1, 8} {
		b.Run(fmt.Sprintf("direct/clients=%d", n), func(b *testing.B) {
			sim := comfysim.Start(b, comfysim.Options{})
			runClients(b, sim.URL(), n)
		})
		b.Run(fmt.Sprintf("comfygate/clients=%d", n), func(b *testing.B) {
			runClients(b, benchGateway(b), n)
		})
	}
}

// benchGateway is comfygate (surface, fleet, SQLite store, artifact
// directory) in front of one simulated backend.
func benchGateway(tb testing.TB) string { return newFleetEnv(tb, fleetEnvOptions{backends: 1}).srv.URL }
