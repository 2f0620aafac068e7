package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/internal/httpapi"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// guard is the longest any test waits for a condition: it turns a hang into
// a failure, and never decides a pass.
const guard = 60 * time.Second

// start serves the API over svc on a loopback listener.
func start(tb testing.TB, svc httpapi.Service, cfg httpapi.Config) (*httpapi.Server, *httptest.Server) {
	tb.Helper()
	s, err := httpapi.New(svc, cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	ts := httptest.NewServer(s)
	tb.Cleanup(func() {
		s.Drain()
		ts.Close()
	})
	return s, ts
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends one request; hdr is a list of name, value pairs.
func do(tb testing.TB, ts *httptest.Server, method, path string, body io.Reader, hdr ...string) response {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, ts.URL+path, body)
	if err != nil {
		tb.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := ts.Client().Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return response{status: res.StatusCode, header: res.Header, body: data}
}

func doJSON(tb testing.TB, ts *httptest.Server, method, path, body string, hdr ...string) response {
	tb.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	return do(tb, ts, method, path, r, append([]string{"Content-Type", "application/json"}, hdr...)...)
}

func decode[T any](tb testing.TB, res response) T {
	tb.Helper()
	var v T
	if err := json.Unmarshal(res.body, &v); err != nil {
		tb.Fatalf("decode %T from %d %q: %v", v, res.status, res.body, err)
	}
	return v
}

// errorOf decodes an error body, checking it is the one documented shape.
func errorOf(tb testing.TB, res response) api.ErrorBody {
	tb.Helper()
	if ct := res.header.Get("Content-Type"); ct != "application/json" {
		tb.Fatalf("error Content-Type = %q, want application/json; body %q", ct, res.body)
	}
	dec := json.NewDecoder(bytes.NewReader(res.body))
	dec.DisallowUnknownFields()
	var e api.ErrorResponse
	if err := dec.Decode(&e); err != nil {
		tb.Fatalf("error body %q: %v", res.body, err)
	}
	if e.Error.RequestID == "" || e.Error.RequestID != res.header.Get("X-Request-Id") {
		tb.Errorf("request_id = %q, X-Request-Id = %q; want the same, not empty", e.Error.RequestID, res.header.Get("X-Request-Id"))
	}
	return e.Error
}

var testTime = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func queuedJob(id string) api.Job {
	return api.Job{ID: id, State: api.StateQueued, Workflow: "txt2img", Outputs: []api.Output{}, CreatedAt: testTime}
}
