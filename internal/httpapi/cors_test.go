package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/comfygate/comfygate/internal/httpapi"
)

// corsServer serves the CORS middleware over a handler that reports the
// Origin header it received.
func corsServer(tb testing.TB, origins ...string) *httptest.Server {
	tb.Helper()
	h, err := httpapi.CORS(origins, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Seen-Origin", r.Header.Get("Origin"))
		w.Header().Set("Location", "/v1/jobs/x")
		w.WriteHeader(http.StatusCreated)
	}))
	if err != nil {
		tb.Fatal(err)
	}
	ts := httptest.NewServer(h)
	tb.Cleanup(ts.Close)
	return ts
}

func TestCORS(t *testing.T) {
	t.Parallel()
	preflight := []string{"Origin", "https://app.example.com", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "authorization,content-type,idempotency-key"}
	tests := []struct {
		name        string
		origins     []string
		method      string
		hdr         []string
		wantStatus  int
		wantOrigin  string // Access-Control-Allow-Origin
		wantCreds   bool
		wantHeaders string // substring of Access-Control-Allow-Headers
		wantExpose  string // substring of Access-Control-Expose-Headers
		wantSeen    string // the Origin the handler saw
	}{
		{name: "preflight allowed", origins: []string{"https://app.example.com"}, method: "OPTIONS", hdr: preflight,
			wantStatus: 204, wantOrigin: "https://app.example.com", wantCreds: true, wantHeaders: "authorization,content-type,idempotency-key"},
		{name: "preflight other origin", origins: []string{"https://other.example.com"}, method: "OPTIONS", hdr: preflight, wantStatus: 204},
		{name: "preflight any", origins: []string{"*"}, method: "OPTIONS", hdr: preflight,
			wantStatus: 204, wantOrigin: "*", wantHeaders: "authorization"},
		{name: "preflight pattern", origins: []string{"https://*.example.com"}, method: "OPTIONS", hdr: preflight,
			wantStatus: 204, wantOrigin: "https://app.example.com", wantCreds: true},
		{name: "actual allowed", origins: []string{"https://app.example.com"}, method: "POST", hdr: []string{"Origin", "https://app.example.com"},
			wantStatus: 201, wantOrigin: "https://app.example.com", wantCreds: true, wantExpose: "Location"},
		{name: "actual any", origins: []string{"*"}, method: "GET", hdr: []string{"Origin", "http://localhost:5173"},
			wantStatus: 201, wantOrigin: "*", wantExpose: "X-Request-Id"},
		{name: "actual other origin keeps its Origin", origins: []string{"https://app.example.com"}, method: "GET", hdr: []string{"Origin", "https://evil.example"},
			wantStatus: 201, wantSeen: "https://evil.example"},
		{name: "same origin untouched", origins: []string{"https://app.example.com"}, method: "GET", wantStatus: 201},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := corsServer(t, tc.origins...)
			req, err := http.NewRequest(tc.method, ts.URL+"/v1/jobs", nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i+1 < len(tc.hdr); i += 2 {
				req.Header.Set(tc.hdr[i], tc.hdr[i+1])
			}
			res, err := ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			h := res.Header
			if res.StatusCode != tc.wantStatus {
				t.Errorf("status %d, want %d", res.StatusCode, tc.wantStatus)
			}
			if got := h.Get("Access-Control-Allow-Origin"); got != tc.wantOrigin {
				t.Errorf("Allow-Origin %q, want %q", got, tc.wantOrigin)
			}
			if got := h.Get("Access-Control-Allow-Credentials") == "true"; got != tc.wantCreds {
				t.Errorf("Allow-Credentials %v, want %v", got, tc.wantCreds)
			}
			if got := strings.ToLower(h.Get("Access-Control-Allow-Headers")); !strings.Contains(got, tc.wantHeaders) {
				t.Errorf("Allow-Headers %q, want %q in it", got, tc.wantHeaders)
			}
			if got := h.Get("Access-Control-Expose-Headers"); !strings.Contains(got, tc.wantExpose) {
				t.Errorf("Expose-Headers %q, want %q in it", got, tc.wantExpose)
			}
			if tc.method != "OPTIONS" && h.Get("X-Seen-Origin") != tc.wantSeen {
				t.Errorf("the handler saw Origin %q, want %q", h.Get("X-Seen-Origin"), tc.wantSeen)
			}
		})
	}
}

func TestCORSRefusesBadOrigins(t *testing.T) {
	t.Parallel()
	for _, o := range []string{"app.example.com", "https://app.example.com/path", "ftp://x", "https://*.*.example.com", "https://"} {
		if _, err := httpapi.CORS([]string{o}, http.NotFoundHandler()); err == nil || !strings.Contains(err.Error(), o) {
			t.Errorf("CORS(%q) = %v, want an error naming it", o, err)
		}
	}
}
