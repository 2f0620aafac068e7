package fidelity

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// replayHandler answers each (method, path) with the real server's captured
// answers, in order. It stands in for a perfect target in the harness's own
// tests.
func replayHandler(tb testing.TB, raws ...Raw) http.Handler {
	tb.Helper()
	var mu sync.Mutex
	answers := map[string][]RawResponse{}
	for _, r := range raws {
		for _, ex := range r.HTTP {
			k := ex.Method + " " + ex.Path
			answers[k] = append(answers[k], ex.Response)
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		k := req.Method + " " + req.URL.RequestURI()
		list := answers[k]
		if len(list) == 0 {
			mu.Unlock()
			http.Error(w, "replay: no answer for "+k, http.StatusTeapot)
			return
		}
		answers[k] = list[1:]
		mu.Unlock()
		resp := list[0]
		for _, h := range resp.Headers {
			switch strings.ToLower(h[0]) {
			case "date", "server", "content-length", "connection":
				continue
			}
			w.Header().Add(h[0], h[1])
		}
		w.WriteHeader(resp.Status)
		if resp.Body != nil {
			_, _ = w.Write([]byte(*resp.Body))
		}
	})
}

// TestReplayMatches runs the HTTP-only scenarios against the capture itself:
// a target that answers exactly like the real server must match every check.
func TestReplayMatches(t *testing.T) {
	raws, err := loadRaw()
	if err != nil {
		t.Fatal(err)
	}
	only := []string{"11-system-stats", "12-object-info", "18-misc-endpoints"}
	var use []Raw
	for _, name := range only {
		use = append(use, raws[name])
	}
	newTarget := func(tb testing.TB) Target {
		srv := httptest.NewServer(replayHandler(tb, use...))
		tb.Cleanup(srv.Close)
		return Target{BaseURL: srv.URL}
	}
	rep := Run(t, newTarget, Options{Only: only})
	matched, total := rep.Counts()
	if total != 2+3+13 || matched != total {
		t.Errorf("replay of the capture: %s", rep.Summary())
	}
}

// TestReplayDetectsDifference proves the comparison can fail: a target that
// answers one request differently must be reported on exactly that step.
func TestReplayDetectsDifference(t *testing.T) {
	raws, err := loadRaw()
	if err != nil {
		t.Fatal(err)
	}
	replay := replayHandler(t, raws["12-object-info"])
	newTarget := func(tb testing.TB) Target {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/object_info/NoSuchNode" {
				w.Header().Set("Content-Type", "application/json; charset=utf-8")
				w.WriteHeader(http.StatusNotFound)
				_, _ = w.Write([]byte(`{}`))
				return
			}
			replay.ServeHTTP(w, r)
		}))
		tb.Cleanup(srv.Close)
		return Target{BaseURL: srv.URL}
	}
	// The mismatch is expected: run the scenario under a TB that records
	// errors instead of failing this test, then check what was reported.
	wf, err := loadWorkflows()
	if err != nil {
		t.Fatal(err)
	}
	sc := scenarios[11]
	if sc.name != "12-object-info" {
		t.Fatalf("scenario order changed: %s", sc.name)
	}
	rec := &recordingTB{TB: t}
	rep := newReport()
	runScenario(rec, sc, newTarget, wf, Options{}.withDefaults(), rep)
	if len(rec.errs) != 1 {
		t.Errorf("scenario reported %d errors, want 1: %q", len(rec.errs), rec.errs)
	}
	matched, total := rep.Counts()
	mm := rep.Mismatches()
	if matched != 2 || total != 3 || len(mm) != 1 || !strings.Contains(mm[0].Step, "NoSuchNode") || !strings.Contains(mm[0].Diff, "404") {
		t.Errorf("report: %s, mismatches %+v", rep.Summary(), mm)
	}
}

// recordingTB collects Errorf calls instead of failing the test.
type recordingTB struct {
	testing.TB
	errs []string
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
