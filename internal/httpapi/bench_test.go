package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/internal/httpapi"
	"github.com/comfygate/comfygate/internal/httpapi/httpapitest"
)

// BenchmarkSubmit measures POST /v1/jobs through the whole handler stack
// (request id, routing, body limit, rate/in-flight guard, strict decoding,
// validation, encoding, metrics) with a service that costs nothing.
func BenchmarkSubmit(b *testing.B) {
	job := queuedJob("0196b6c2-5f1e-7a3c-9d2e-4f5a6b7c8d9e")
	svc := &httpapitest.Service{SubmitJobFunc: func(context.Context, string, api.SubmitJobRequest, string) (api.Job, bool, error) {
		return job, false, nil
	}}
	s, err := httpapi.New(svc, httpapi.Config{APIKeys: []httpapi.APIKey{{ID: "bench", Hash: httpapi.HashKey("k")}}})
	if err != nil {
		b.Fatal(err)
	}
	body := `{"workflow":"txt2img","params":{"prompt":"a red fox in the snow, watercolor","seed":18446744073709551615,"steps":20,"cfg":7.5},"priority":1}`
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("POST", "/v1/jobs", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer k")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

// fanOut is a one-job hub for the benchmark: every subscriber gets every
// published event.
type fanOut struct {
	mu     sync.Mutex
	subs   []*httpapitest.Stream
	joined chan struct{}
}

func (h *fanOut) subscribe(context.Context, string, string, string) (httpapi.Stream, error) {
	st := httpapitest.NewStream(64)
	h.mu.Lock()
	h.subs = append(h.subs, st)
	h.mu.Unlock()
	h.joined <- struct{}{}
	return st, nil
}

func (h *fanOut) publish(ctx context.Context, e api.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, st := range h.subs {
		_ = st.Send(ctx, e)
	}
}

// BenchmarkSSEFanOut1000 follows one job from 1,000 SSE clients on
// loopback; each op publishes one event and waits until every client has
// read it. It reports the p50/p99 delivery latency (publish → client
// decoded), the budget of DESIGN §8 being p99 ≤ 100 ms at 10,000 streams.
func BenchmarkSSEFanOut1000(b *testing.B) {
	const clients = 1000
	hub := &fanOut{joined: make(chan struct{}, clients)}
	_, ts := start(b, &httpapitest.Service{SubscribeJobFunc: hub.subscribe}, httpapi.Config{})
	tr := &http.Transport{MaxIdleConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	got := make(chan time.Duration, clients*4)
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			follow(ctx, tr, ts.URL+"/v1/jobs/j1/events", got)
		}()
	}
	for range clients {
		<-hub.joined
	}
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		hub.publish(ctx, api.Event{ID: "1", JobID: "j1", Type: api.EventProgress, Time: time.Now(), Data: json.RawMessage(`{"value":1,"max":20}`)})
		for range clients {
			lat = append(lat, <-got)
		}
	}
	b.StopTimer()
	hub.publish(ctx, api.Event{ID: "2", JobID: "j1", Type: api.EventSucceeded, Time: time.Now(), Data: json.RawMessage(`{}`)})
	wg.Wait()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// follow reads one SSE stream to its end, reporting each progress event's
// delivery latency.
func follow(ctx context.Context, tr *http.Transport, url string, got chan<- time.Duration) {
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	res, err := tr.RoundTrip(req)
	if err != nil {
		return
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var e api.Event
		if json.Unmarshal([]byte(data), &e) != nil || api.TerminalEvent(e.Type) {
			return
		}
		got <- time.Since(e.Time)
	}
}
