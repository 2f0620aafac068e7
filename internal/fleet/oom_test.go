package fleet

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/comfygate/comfygate/comfy/comfysim"
	"github.com/comfygate/comfygate/internal/job"
)

// oomProxy fronts a simulator whose KSampler fails, and makes its history
// report the failure as a CUDA out-of-memory error.
func oomProxy(tb testing.TB, s *sim) string {
	tb.Helper()
	target, err := url.Parse(s.url)
	if err != nil {
		tb.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = func(resp *http.Response) error {
		if !strings.Contains(resp.Request.URL.Path, "/history/") {
			return nil
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		body = bytes.ReplaceAll(body, []byte(`"RuntimeError"`), []byte(`"torch.OutOfMemoryError"`))
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	}
	ts := httptest.NewServer(rp)
	tb.Cleanup(ts.Close)
	return ts.URL
}

func TestOutOfMemoryIsRetriedThenFailsWithEveryAttempt(t *testing.T) {
	s := startSim(t, comfysim.Options{FailNode: "KSampler"})
	e := newEnv(t, BackendConfig{ID: "small-gpu", URL: oomProxy(t, s), MaxInflight: 1})
	j := e.hub.waitTerminal(t, e.store, e.submit(t, imageGraph(simCheckpoint, 1, 2)))
	if j.State != job.StateFailed || j.Attempts != DefaultMaxAttempts {
		t.Fatalf("state %s attempts %d error %+v", j.State, j.Attempts, j.Error)
	}
	for i, a := range j.AttemptLog {
		if a.Outcome != outcomeOOM || a.Backend != "small-gpu" {
			t.Errorf("attempt %d = %+v", i+1, a)
		}
	}
	if j.Error == nil || j.Error.Type != outcomeOOM || !strings.Contains(j.Error.Message, "gave up after 3 attempts") {
		t.Errorf("error = %+v", j.Error)
	}
	if got := executions(j, s); got != DefaultMaxAttempts {
		t.Errorf("ran %d times, want one run per attempt", got)
	}
}
