package main

import (
	"bytes"
	"encoding/json"
	"image"
	_ "image/png" // registers the PNG decoder for image.DecodeConfig
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/comfy/comfysim"
	"github.com/comfygate/comfygate/internal/server"
)

// startStack starts a simulator and `comfygate serve` in front of it, waits
// until the gateway is ready and stores the txt2img example graph as
// workflow "t2i"; its parameters are detected from the backend's catalog.
func startStack(t *testing.T, opts comfysim.Options, extra ...string) (*apiClient, *comfysim.Server) {
	t.Helper()
	sim := comfysim.Start(t, opts)
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--backend", sim.URL()}, extra...)
	g := startRun(t, args...)
	c := newAPIClient(t, g.URL)
	c.waitReady()
	c.must(http.StatusCreated, "PUT", "/v1/workflows/t2i", txt2imgGraph(t))
	return c, sim
}

// txt2imgGraph is the API-format graph of the txt2img example.
func txt2imgGraph(tb testing.TB) json.RawMessage {
	tb.Helper()
	list, err := server.Examples()
	if err != nil {
		tb.Fatal(err)
	}
	for _, ex := range list {
		if ex.Name == "txt2img" {
			return ex.Body
		}
	}
	tb.Fatal("no txt2img example")
	return nil
}

func TestServeJobLifecycle(t *testing.T) {
	c, _ := startStack(t, comfysim.Options{})
	j := c.submit(api.SubmitJobRequest{Workflow: "t2i", Params: map[string]any{
		"prompt": "a lighthouse at dusk", "seed": 42, "steps": 4, "width": 320, "height": 256,
	}})
	if j.State != api.StateQueued || j.ID == "" {
		t.Fatalf("submitted job = %+v, want a queued job with an id", j)
	}
	events := c.readEvents(j.ID)
	checkEventOrder(t, events)
	var final api.Job
	if err := json.Unmarshal(events[len(events)-1].Data.Data, &final); err != nil {
		t.Fatalf("terminal event data: %v", err)
	}
	if final.State != api.StateSucceeded || len(final.Outputs) == 0 {
		t.Fatalf("final job = %+v, want succeeded with outputs", final)
	}
	checkPNG(t, c, final.Outputs[0], 320, 256)

	t.Run("resume after Last-Event-ID", func(t *testing.T) {
		resumed := c.readEvents(j.ID, "Last-Event-ID", "2")
		if len(resumed) == 0 || resumed[0].ID != "3" {
			t.Fatalf("resumed stream starts at %v, want event 3", ids(resumed))
		}
	})
	t.Run("job is listed", func(t *testing.T) {
		var list api.JobList
		c.must(http.StatusOK, "GET", "/v1/jobs?state=succeeded", nil).decode(t, &list)
		if !slices.ContainsFunc(list.Jobs, func(x api.Job) bool { return x.ID == j.ID }) {
			t.Fatalf("job %s not in the list of succeeded jobs", j.ID)
		}
	})
}

// checkEventOrder checks the durable events are queued → dispatched →
// started → output… → succeeded with sequence numbers 1, 2, 3…, that
// progress events come between started and the first output, and that
// every ephemeral event is numbered after the durable event before it.
func checkEventOrder(t *testing.T, events []sseEvent) {
	t.Helper()
	var durable []string
	seq, sub, progressed := 0, 0, false
	for _, e := range events {
		if e.Data.Type != e.Type || e.Data.ID != e.ID {
			t.Fatalf("event %s: SSE fields (%s, %s) differ from its data (%s, %s)", e.ID, e.ID, e.Type, e.Data.ID, e.Data.Type)
		}
		head, tail, ephemeral := strings.Cut(e.ID, ".")
		n, err := strconv.Atoi(head)
		if err != nil {
			t.Fatalf("event id %q is not seq or seq.sub", e.ID)
		}
		if !ephemeral {
			if n != seq+1 {
				t.Fatalf("durable event %q follows %d: want %d; ids %v", e.ID, seq, seq+1, ids(events))
			}
			seq, sub = n, 0
			durable = append(durable, e.Type)
			continue
		}
		m, err := strconv.Atoi(tail)
		if err != nil || n != seq || m <= sub {
			t.Fatalf("ephemeral event %q out of order after %d.%d; ids %v", e.ID, seq, sub, ids(events))
		}
		sub = m
		if e.Type == api.EventProgress && slices.Contains(durable, api.EventStarted) && !slices.Contains(durable, api.EventOutput) {
			progressed = true
		}
	}
	if !matchesLifecycle(durable) {
		t.Fatalf("durable events %v, want queued, dispatched, started, output…, succeeded", durable)
	}
	if !progressed {
		t.Fatalf("no progress event between started and output: %v", types(events))
	}
}

// matchesLifecycle: queued, dispatched, started, one or more outputs,
// succeeded.
func matchesLifecycle(durable []string) bool {
	n := len(durable)
	if n < 5 || !slices.Equal(durable[:3], []string{api.EventQueued, api.EventDispatched, api.EventStarted}) ||
		durable[n-1] != api.EventSucceeded {
		return false
	}
	for _, d := range durable[3 : n-1] {
		if d != api.EventOutput {
			return false
		}
	}
	return true
}

func checkPNG(t *testing.T, c *apiClient, out api.Output, width, height int) {
	t.Helper()
	if out.URL == "" || out.ContentType != "image/png" {
		t.Fatalf("output = %+v, want a PNG with a URL", out)
	}
	r := c.must(http.StatusOK, "GET", out.URL, nil)
	cfg, format, err := image.DecodeConfig(bytes.NewReader(r.Body))
	if err != nil || format != "png" || cfg.Width != width || cfg.Height != height {
		t.Fatalf("artifact: %s %dx%d (%v), want png %dx%d", format, cfg.Width, cfg.Height, err, width, height)
	}
	if got := r.Header.Get("Content-Type"); got != "image/png" {
		t.Errorf("artifact content type %q, want image/png", got)
	}
}

func ids(events []sseEvent) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}

func types(events []sseEvent) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.Type
	}
	return out
}
