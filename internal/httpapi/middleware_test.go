package httpapi_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/internal/httpapi"
	"github.com/comfygate/comfygate/internal/httpapi/httpapitest"
)

// ownerService answers GET /v1/jobs/{id} with the owner it was called for.
func ownerService() *httpapitest.Service {
	return &httpapitest.Service{
		GetJobFunc: func(_ context.Context, owner, id string) (api.Job, error) {
			j := queuedJob(id)
			j.Workflow = owner
			return j, nil
		},
		ReadyFunc:         func(context.Context) error { return nil },
		ListWorkflowsFunc: func(context.Context, string) ([]api.Workflow, error) { return nil, nil },
	}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	keys := []httpapi.APIKey{{ID: "alice", Hash: httpapi.HashKey("alice-key")}, {ID: "bob", Hash: httpapi.HashKey("bob-key")},
		{ID: "ops", Hash: httpapi.HashKey("ops-key"), Admin: true}}
	scraper := httpapi.HashKey("scraper-key")
	tests := []struct {
		name       string
		cfg        httpapi.Config
		path       string
		hdr        []string
		wantStatus int
		wantOwner  string
	}{
		{name: "off: anyone, owner empty", path: "/v1/jobs/j", wantStatus: 200, wantOwner: ""},
		{name: "bearer", cfg: httpapi.Config{APIKeys: keys}, path: "/v1/jobs/j", hdr: []string{"Authorization", "Bearer bob-key"}, wantStatus: 200, wantOwner: "bob"},
		{name: "bearer any case", cfg: httpapi.Config{APIKeys: keys}, path: "/v1/jobs/j", hdr: []string{"Authorization", "bearer alice-key"}, wantStatus: 200, wantOwner: "alice"},
		{name: "x-api-key", cfg: httpapi.Config{APIKeys: keys}, path: "/v1/jobs/j", hdr: []string{"X-API-Key", "alice-key"}, wantStatus: 200, wantOwner: "alice"},
		{name: "missing", cfg: httpapi.Config{APIKeys: keys}, path: "/v1/jobs/j", wantStatus: 401},
		{name: "unknown", cfg: httpapi.Config{APIKeys: keys}, path: "/v1/jobs/j", hdr: []string{"Authorization", "Bearer nope"}, wantStatus: 401},
		{name: "basic is not a key", cfg: httpapi.Config{APIKeys: keys}, path: "/v1/jobs/j", hdr: []string{"Authorization", "Basic YWxpY2Uta2V5"}, wantStatus: 401},
		{name: "streams need a key", cfg: httpapi.Config{APIKeys: keys}, path: "/v1/jobs/j/events", wantStatus: 401},
		{name: "healthz open", cfg: httpapi.Config{APIKeys: keys}, path: "/healthz", wantStatus: 200},
		{name: "readyz open", cfg: httpapi.Config{APIKeys: keys}, path: "/readyz", wantStatus: 200},
		{name: "metrics open without keys", path: "/metrics", wantStatus: 200},
		{name: "metrics closed with keys", cfg: httpapi.Config{APIKeys: keys}, path: "/metrics", wantStatus: 401},
		{name: "metrics refuse a user key", cfg: httpapi.Config{APIKeys: keys}, path: "/metrics", hdr: []string{"X-API-Key", "bob-key"}, wantStatus: 403},
		{name: "metrics refuse an unknown key", cfg: httpapi.Config{APIKeys: keys, MetricsKeyHash: scraper}, path: "/metrics", hdr: []string{"X-API-Key", "nope"}, wantStatus: 401},
		{name: "metrics with an admin key", cfg: httpapi.Config{APIKeys: keys}, path: "/metrics", hdr: []string{"Authorization", "Bearer ops-key"}, wantStatus: 200},
		{name: "metrics with the metrics key", cfg: httpapi.Config{APIKeys: keys, MetricsKeyHash: scraper}, path: "/metrics", hdr: []string{"Authorization", "Bearer scraper-key"}, wantStatus: 200},
		{name: "metrics key alone closes metrics", cfg: httpapi.Config{MetricsKeyHash: scraper}, path: "/metrics", wantStatus: 401},
		{name: "metrics key alone opens metrics", cfg: httpapi.Config{MetricsKeyHash: scraper}, path: "/metrics", hdr: []string{"X-API-Key", "scraper-key"}, wantStatus: 200},
		{name: "metrics key opens nothing else", cfg: httpapi.Config{APIKeys: keys, MetricsKeyHash: scraper}, path: "/v1/jobs/j", hdr: []string{"X-API-Key", "scraper-key"}, wantStatus: 401},
		{name: "openapi open", cfg: httpapi.Config{APIKeys: keys}, path: "/openapi.json", wantStatus: 200},
		{name: "docs open", cfg: httpapi.Config{APIKeys: keys}, path: "/docs", wantStatus: 200},
		{name: "docs closed", cfg: httpapi.Config{APIKeys: keys, AuthDocs: true}, path: "/openapi.json", wantStatus: 401},
		{name: "docs with key", cfg: httpapi.Config{APIKeys: keys, AuthDocs: true}, path: "/docs", hdr: []string{"X-API-Key", "bob-key"}, wantStatus: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, ts := start(t, ownerService(), tt.cfg)
			res := do(t, ts, "GET", tt.path, nil, tt.hdr...)
			if res.status != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %s", res.status, tt.wantStatus, res.body)
			}
			if res.status == http.StatusForbidden {
				if e := errorOf(t, res); e.Code != api.CodeForbidden || !strings.Contains(e.Message, "--metrics-key") {
					t.Errorf("error %+v", e)
				}
			}
			if res.status == http.StatusUnauthorized {
				if e := errorOf(t, res); e.Code != api.CodeUnauthorized || e.Field != "Authorization" {
					t.Errorf("error %+v", e)
				}
				if res.header.Get("WWW-Authenticate") == "" {
					t.Error("no WWW-Authenticate")
				}
			}
			if strings.HasPrefix(tt.path, "/v1/jobs/j") && res.status == 200 {
				if got := decode[api.Job](t, res).Workflow; got != tt.wantOwner {
					t.Errorf("owner %q, want %q", got, tt.wantOwner)
				}
			}
		})
	}
}

func TestConfigRejectsBadKeys(t *testing.T) {
	t.Parallel()
	for name, keys := range map[string][]httpapi.APIKey{
		"empty id":     {{Hash: httpapi.HashKey("k")}},
		"no hash":      {{ID: "a"}},
		"duplicate id": {{ID: "a", Hash: httpapi.HashKey("k")}, {ID: "a", Hash: httpapi.HashKey("j")}},
	} {
		if _, err := httpapi.New(ownerService(), httpapi.Config{APIKeys: keys}); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	_, ts := start(t, errService(errors.New("boom")), httpapi.Config{})
	tests := []struct {
		name, sent string
		keep       bool
	}{
		{"made when absent", "", false},
		{"kept when plain", "req-42.a:b_c", true},
		{"replaced when odd", "a b<script>", false},
		{"replaced when long", strings.Repeat("a", 129), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := do(t, ts, "GET", "/v1/jobs/x", nil, "X-Request-Id", tt.sent)
			id := res.header.Get("X-Request-Id")
			if id == "" || (id == tt.sent) != tt.keep {
				t.Errorf("X-Request-Id = %q for %q (keep %v)", id, tt.sent, tt.keep)
			}
			errorOf(t, res) // checks request_id == X-Request-Id
		})
	}
}

// lockedBuffer collects log output from handler goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestPanicRecovery(t *testing.T) {
	t.Parallel()
	var logs lockedBuffer
	svc := &httpapitest.Service{GetJobFunc: func(context.Context, string, string) (api.Job, error) { panic("nil map write") }}
	_, ts := start(t, svc, httpapi.Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	res := do(t, ts, "GET", "/v1/jobs/x", nil)
	if res.status != http.StatusInternalServerError {
		t.Fatalf("status %d", res.status)
	}
	e := errorOf(t, res)
	if e.Code != api.CodeInternal || strings.Contains(e.Message, "nil map") {
		t.Errorf("error %+v: want internal, without the panic value", e)
	}
	log := logs.String()
	if !strings.Contains(log, "panic serving request") || !strings.Contains(log, "request_id="+e.RequestID) || !strings.Contains(log, "goroutine") {
		t.Errorf("log lacks the panic, request id or stack:\n%s", log)
	}
	if again := do(t, ts, "GET", "/healthz", nil); again.status != http.StatusOK {
		t.Errorf("server unwell after a panic: %d", again.status)
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	now := testTime
	_, ts := start(t, ownerService(), httpapi.Config{RatePerKey: 0.5, Now: func() time.Time { return now }})
	if res := do(t, ts, "GET", "/v1/jobs/x", nil); res.status != http.StatusOK {
		t.Fatalf("first request: %d", res.status)
	}
	res := do(t, ts, "GET", "/v1/jobs/x", nil)
	if res.status != http.StatusTooManyRequests || res.header.Get("Retry-After") != "2" {
		t.Fatalf("second request: %d, Retry-After %q; want 429 and 2", res.status, res.header.Get("Retry-After"))
	}
	if e := errorOf(t, res); e.Code != api.CodeRateLimited {
		t.Errorf("code %q", e.Code)
	}
	if res := do(t, ts, "GET", "/healthz", nil); res.status != http.StatusOK {
		t.Errorf("probes must not be rate limited: %d", res.status)
	}
}

func TestInFlightLimit(t *testing.T) {
	t.Parallel()
	entered, release := make(chan struct{}), make(chan struct{})
	svc := &httpapitest.Service{GetJobFunc: func(_ context.Context, _, id string) (api.Job, error) {
		if id == "slow" {
			close(entered)
			<-release
		}
		return queuedJob(id), nil
	}}
	_, ts := start(t, svc, httpapi.Config{MaxInFlightPerKey: 1})
	done := make(chan int, 1)
	go func() {
		res, err := ts.Client().Get(ts.URL + "/v1/jobs/slow")
		if err != nil {
			done <- 0
			return
		}
		res.Body.Close()
		done <- res.StatusCode
	}()
	<-entered
	res := do(t, ts, "GET", "/v1/jobs/fast", nil)
	close(release)
	if res.status != http.StatusTooManyRequests || res.header.Get("Retry-After") == "" {
		t.Errorf("second request while one is in flight: %d, want 429 with Retry-After", res.status)
	}
	if first := <-done; first != http.StatusOK {
		t.Errorf("first request: %d", first)
	}
	if res := do(t, ts, "GET", "/v1/jobs/fast", nil); res.status != http.StatusOK {
		t.Errorf("after release: %d", res.status)
	}
}

// TestProbes checks both spellings of the probes: /healthz and /readyz, and
// /health and /ready, which load balancers and Salad's container probes use.
func TestProbes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, live, ready string }{
		{name: "k8s spelling", live: "/healthz", ready: "/readyz"},
		{name: "short spelling", live: "/health", ready: "/ready"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var ready error = errors.New("no healthy backend")
			var mu sync.Mutex
			svc := &httpapitest.Service{ReadyFunc: func(context.Context) error { mu.Lock(); defer mu.Unlock(); return ready }}
			_, ts := start(t, svc, httpapi.Config{APIKeys: []httpapi.APIKey{{ID: "a", Hash: httpapi.HashKey("secret-key-a")}}})
			if res := do(t, ts, "GET", tc.live, nil); res.status != 200 || string(res.body) != "ok\n" {
				t.Errorf("%s: %d %q", tc.live, res.status, res.body)
			}
			if res := do(t, ts, "GET", tc.ready, nil); res.status != 503 || !strings.Contains(string(res.body), "no healthy backend") {
				t.Errorf("%s before: %d %q", tc.ready, res.status, res.body)
			}
			mu.Lock()
			ready = nil
			mu.Unlock()
			if res := do(t, ts, "GET", tc.ready, nil); res.status != 200 {
				t.Errorf("%s after: %d %q", tc.ready, res.status, res.body)
			}
		})
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	other := prometheus.NewCounter(prometheus.CounterOpts{Name: "comfygate_jobs_submitted_total", Help: "x"})
	reg.MustRegister(other)
	other.Inc()
	_, ts := start(t, ownerService(), httpapi.Config{Registry: reg})
	do(t, ts, "GET", "/v1/jobs/x", nil)
	do(t, ts, "GET", "/v1/nowhere", nil)
	body := string(do(t, ts, "GET", "/metrics", nil).body)
	for _, want := range []string{
		`comfygate_http_request_duration_seconds_count{code="200",route="GET /v1/jobs/{id}"} 1`,
		`comfygate_http_request_duration_seconds_count{code="404",route="unmatched"} 1`,
		`comfygate_jobs_submitted_total 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
	if _, err := httpapi.New(ownerService(), httpapi.Config{Registry: reg}); err != nil {
		t.Errorf("a second server on the same registry: %v", err)
	}
}

func TestDocsPage(t *testing.T) {
	t.Parallel()
	_, ts := start(t, ownerService(), httpapi.Config{})
	tests := []struct {
		path, wantType, wantBody string
		wantStatus               int
	}{
		{"/docs", "text/html; charset=utf-8", `docs/swagger-ui-bundle.js`, 200},
		{"/docs/init.js", "text/javascript; charset=utf-8", `url: "openapi.json"`, 200},
		{"/docs/swagger-ui-bundle.js", "text/javascript; charset=utf-8", "SwaggerUIBundle", 200},
		{"/docs/swagger-ui.css", "text/css; charset=utf-8", ".swagger-ui", 200},
		{"/docs/nope.js", "application/json", "no such docs file", 404},
	}
	for _, tt := range tests {
		res := do(t, ts, "GET", tt.path, nil)
		if res.status != tt.wantStatus || res.header.Get("Content-Type") != tt.wantType || !strings.Contains(string(res.body), tt.wantBody) {
			t.Errorf("GET %s: %d %q, body has %q: %v", tt.path, res.status, res.header.Get("Content-Type"), tt.wantBody, strings.Contains(string(res.body), tt.wantBody))
		}
		if tt.wantStatus == 200 && !strings.Contains(res.header.Get("Content-Security-Policy"), "default-src 'self'") {
			t.Errorf("GET %s: CSP %q", tt.path, res.header.Get("Content-Security-Policy"))
		}
	}
	for _, page := range []string{"/docs", "/docs/init.js"} {
		body := string(do(t, ts, "GET", page, nil).body)
		if strings.Contains(body, "http://") || strings.Contains(body, "https://") {
			t.Errorf("%s loads something from another host", page)
		}
	}
}
