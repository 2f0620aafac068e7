package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/comfygate/comfygate/api"
)

// apiClient talks to one gateway's REST API.
type apiClient struct {
	tb   testing.TB
	base string
	http *http.Client
}

func newAPIClient(tb testing.TB, base string) *apiClient {
	return &apiClient{tb: tb, base: base, http: newClient(tb)}
}

// response is a finished request: status, headers and body.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) decode(tb testing.TB, v any) {
	tb.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		tb.Fatalf("decode %s: %v", r.Body, err)
	}
}

// apiError is the error body of the REST API.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

// do sends a request with a JSON (or raw string/[]byte) body.
func (c *apiClient) do(method, path string, body any, header ...string) response {
	c.tb.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			c.tb.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		c.tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		c.tb.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// must sends a request and fails the test unless it gets status want.
func (c *apiClient) must(want int, method, path string, body any, header ...string) response {
	c.tb.Helper()
	r := c.do(method, path, body, header...)
	if r.Status != want {
		c.tb.Fatalf("%s %s: status %d, want %d; body: %s", method, path, r.Status, want, r.Body)
	}
	return r
}

func (c *apiClient) submit(req api.SubmitJobRequest, header ...string) api.Job {
	c.tb.Helper()
	var j api.Job
	c.must(http.StatusCreated, "POST", "/v1/jobs", req, header...).decode(c.tb, &j)
	return j
}

func (c *apiClient) job(id string) api.Job {
	c.tb.Helper()
	var j api.Job
	c.must(http.StatusOK, "GET", "/v1/jobs/"+id, nil).decode(c.tb, &j)
	return j
}

// waitJob polls a job until cond holds.
func (c *apiClient) waitJob(id string, what string, cond func(api.Job) bool) api.Job {
	c.tb.Helper()
	var last api.Job
	ok := poll(func() bool {
		last = c.job(id)
		return cond(last)
	})
	if !ok {
		c.tb.Fatalf("job %s: gave up waiting until %s; last state %s, error %+v", id, what, last.State, last.Error)
	}
	return last
}

func inState(states ...api.JobState) func(api.Job) bool {
	return func(j api.Job) bool {
		for _, s := range states {
			if j.State == s {
				return true
			}
		}
		return false
	}
}

// waitReady polls /readyz until the gateway has a healthy backend.
func (c *apiClient) waitReady() {
	c.tb.Helper()
	if !poll(func() bool { return c.do("GET", "/readyz", nil).Status == http.StatusOK }) {
		c.tb.Fatalf("gateway never became ready: %s", c.do("GET", "/readyz", nil).Body)
	}
}

// poll checks cond until it holds or testTimeout passes. The short pause
// between checks only saves CPU; correctness never depends on it.
func poll(cond func() bool) bool {
	deadline := time.Now().Add(testTimeout)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// sseEvent is one event of a text/event-stream.
type sseEvent struct {
	ID, Type string
	Data     api.Event
}

// readEvents follows a job's SSE stream to its end (the server closes it
// after the terminal event) and returns every event.
func (c *apiClient) readEvents(id string, header ...string) []sseEvent {
	c.tb.Helper()
	events, err := c.streamEvents(id, header...)
	if err != nil {
		c.tb.Fatal(err)
	}
	return events
}

// streamEvents is readEvents returning its error, for other goroutines
// than the test's.
func (c *apiClient) streamEvents(id string, header ...string) ([]sseEvent, error) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+"/v1/jobs/"+id+"/events", nil)
	if err != nil {
		return nil, err
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "text/event-stream") {
		body, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("events: status %d, content type %q: %s", resp.StatusCode, ct, body)
	}
	events, err := parseSSE(resp.Body)
	if err != nil {
		return events, fmt.Errorf("events of %s: %w (after %d events)", id, err, len(events))
	}
	return events, nil
}

// parseSSE reads events until the stream ends.
func parseSSE(r io.Reader) ([]sseEvent, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 8<<20)
	var out []sseEvent
	var cur sseEvent
	var data strings.Builder
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if data.Len() > 0 {
				if err := json.Unmarshal([]byte(data.String()), &cur.Data); err != nil {
					return out, fmt.Errorf("event %s data: %w", cur.ID, err)
				}
				out = append(out, cur)
			}
			cur, data = sseEvent{}, strings.Builder{}
		case strings.HasPrefix(line, "id: "):
			cur.ID = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "event: "):
			cur.Type = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data.WriteString(strings.TrimPrefix(line, "data: "))
		}
	}
	return out, sc.Err()
}
