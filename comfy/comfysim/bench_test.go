package comfysim_test

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

// BenchmarkSimThroughput measures prompts per second end to end: b.N small
// prompts (four string nodes, each prompt different so nothing is served
// from cache) posted over HTTP by four clients, every event read from one
// WebSocket, until the last prompt's final "executing".
func BenchmarkSimThroughput(b *testing.B) {
	s := comfysim.Start(b, comfysim.Options{Seed: 1})
	ctx := context.Background()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.URL(), "http")+"/ws?clientId=bench", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.CloseNow()
	if _, _, err := c.Read(ctx); err != nil { // greeting
		b.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	defer client.CloseIdleConnections()

	bodies := make(chan []byte, b.N)
	for i := 0; i < b.N; i++ {
		bodies <- []byte(fmt.Sprintf(`{"client_id": "bench", "prompt": {`+
			`"1": {"class_type": "PrimitiveString", "inputs": {"value": "hello %d"}},`+
			`"2": {"class_type": "StringConcatenate", "inputs": {"string_a": ["1", 0], "string_b": "world", "delimiter": ", "}},`+
			`"3": {"class_type": "CaseConverter", "inputs": {"string": ["2", 0], "mode": "UPPERCASE"}},`+
			`"4": {"class_type": "PreviewAny", "inputs": {"source": ["3", 0]}}}}`, i))
	}
	close(bodies)

	b.ResetTimer()
	started := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for body := range bodies {
				resp, err := client.Post(s.URL()+"/prompt", "application/json", bytes.NewReader(body))
				if err != nil {
					errs <- err
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errs <- fmt.Errorf("POST /prompt: %d", resp.StatusCode)
					return
				}
			}
		}()
	}
	done := 0
	for done < b.N {
		_, data, err := c.Read(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if bytes.HasPrefix(data, []byte(`{"type": "executing", "data": {"node": null`)) {
			done++
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(started).Seconds(), "jobs/s")
	var st comfysim.Stats
	if err := json.Unmarshal(mustGet(b, s.URL()+"/sim/stats"), &st); err != nil {
		b.Fatal(err)
	}
	if st.PromptsSucceeded != int64(b.N) {
		b.Fatalf("succeeded %d of %d", st.PromptsSucceeded, b.N)
	}
}

func mustGet(b *testing.B, url string) []byte {
	resp, err := http.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	return data
}
