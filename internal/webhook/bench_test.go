package webhook

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/internal/safefetch"
	"github.com/comfygate/comfygate/internal/store/sqlite"
)

// BenchmarkDeliveries measures how many webhook messages one replica
// delivers per second: b.N jobs end with a webhook each (the messages are
// in the SQLite outbox before the worker starts), spread over receivers on
// 8 loopback hosts that answer 204 at once; the worker, with its default
// concurrency (16) and per-host slots (2), claims, signs, POSTs and
// records them all. deliveries/s counts from the worker's start to the
// last recorded delivery.
func BenchmarkDeliveries(b *testing.B) {
	st, err := sqlite.Open(b.Context(), sqlite.Config{Path: filepath.Join(b.TempDir(), "db"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	var got atomic.Int64
	var urls []string
	for i := range 8 {
		urls = append(urls, loopbackReceiver(b, fmt.Sprintf("127.0.0.%d", i+1), &got))
	}
	ctx := context.Background()
	var last string
	for i := range b.N {
		j, _, err := st.CreateJob(ctx, &job.Job{Webhook: urls[i%len(urls)]})
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := st.UpdateJobWithEvent(ctx, j.ID, func(j *job.Job) (*job.Event, error) {
			return job.NewEvent(job.EventCancelled, nil), j.TransitionTo(job.StateCancelled, time.Now())
		}); err != nil {
			b.Fatal(err)
		}
		last = j.ID
	}
	f, _ := safefetch.New(safefetch.Config{AllowLoopback: true})
	b.Cleanup(f.CloseIdleConnections)
	w, err := New(Config{Store: st, Client: f.NoRedirects(), CheckURL: f.CheckURL, Render: renderTest,
		Secrets: []Secret{mustSecret(b, testSecret)}, Owner: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	if err := w.Start(ctx); err != nil {
		b.Fatal(err)
	}
	waitFor(b, func() bool {
		ms, _ := st.ListWebhookMessages(ctx, last)
		return got.Load() >= int64(b.N) && len(ms) == 1 && ms[0].State == job.DeliveryDelivered
	}, "%d deliveries", b.N)
	elapsed := time.Since(start)
	b.StopTimer()
	if err := w.Stop(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
}

// loopbackReceiver serves 204 on addr (a loopback address: each one is its
// own host to the worker's per-host slots) and counts the requests.
func loopbackReceiver(tb testing.TB, addr string, n *atomic.Int64) string {
	tb.Helper()
	ln, err := net.Listen("tcp", addr+":0")
	if err != nil {
		tb.Skipf("cannot listen on %s: %v", addr, err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		n.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	tb.Cleanup(srv.Close)
	return srv.URL + "/hook"
}
