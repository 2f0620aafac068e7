package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/comfygate/comfygate/comfy/comfysim"
	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/internal/store/sqlite"
)

// seeded is a data directory holding a store of 100,000 jobs, made once
// per test binary and copied for every start, so that each start sees the
// same store.
var seeded struct {
	once sync.Once
	dir  string
	err  error
}

const (
	seedJobs    = 100_000
	seedQueued  = 100 // waiting for a backend
	seedRunning = 10  // left on a backend by a "previous life"
)

// BenchmarkReadyWith100kJobs measures a start over a store of 100,000 jobs
// (mostly finished, some queued, some left running on the backend): New +
// Start until it serves (start-ms/op), and until /readyz answers 200, its
// backend probed, connected and its catalog loaded (ready-ms/op). The
// backend is a simulator that runs all along, as a ComfyUI server would.
func BenchmarkReadyWith100kJobs(b *testing.B) {
	template := seededDir(b)
	sim := comfysim.Start(b, comfysim.Options{})
	c := client(b)
	var startMS, readyMS float64
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		dir := filepath.Join(b.TempDir(), fmt.Sprint(i))
		copyDir(b, template, dir)
		b.StartTimer()
		t0 := time.Now()
		s, err := New(Config{Listen: "127.0.0.1:0", DataDir: dir, Backends: []BackendConfig{{ID: "sim-1", URL: sim.URL()}}})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		started := time.Since(t0)
		deadline := t0.Add(testTimeout)
		for !isReady(c, s.URL()) {
			if time.Now().After(deadline) {
				b.Fatal("never ready")
			}
		}
		ready := time.Since(t0)
		b.StopTimer()
		startMS += float64(started) / float64(time.Millisecond)
		readyMS += float64(ready) / float64(time.Millisecond)
		stopServer(b, s)
		b.StartTimer()
	}
	b.ReportMetric(startMS/float64(b.N), "start-ms/op")
	b.ReportMetric(readyMS/float64(b.N), "ready-ms/op")
}

func isReady(c *http.Client, base string) bool {
	resp, err := c.Get(base + "/readyz")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode == http.StatusOK
}

// seededDir returns the template data directory, seeding it on first use.
// TestMain removes it.
func seededDir(tb testing.TB) string {
	tb.Helper()
	seeded.once.Do(func() {
		seeded.dir, seeded.err = os.MkdirTemp("", "comfygate-100k-")
		if seeded.err == nil {
			seeded.err = seed(filepath.Join(seeded.dir, dbFile))
		}
	})
	if seeded.err != nil {
		tb.Fatalf("seed store: %v", seeded.err)
	}
	return seeded.dir
}

// seed writes seedJobs jobs with realistic graphs and outputs.
func seed(path string) error {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Config{Path: path, Synchronous: "NORMAL"})
	if err != nil {
		return err
	}
	body, err := exampleBody("txt2img")
	if err != nil {
		return err
	}
	g, _ := errgroup.WithContext(ctx)
	g.SetLimit(64)
	for i := range seedJobs {
		g.Go(func() error {
			_, _, err := st.CreateJob(ctx, seedJob(i, body))
			return err
		})
	}
	return errors.Join(g.Wait(), st.Close())
}

func seedJob(i int, graph json.RawMessage) *job.Job {
	now := time.Now().UTC()
	j := &job.Job{Source: job.SourceREST, Workflow: "txt2img", Graph: graph, OutputNodes: []string{"9"},
		State: job.StateSucceeded, Attempts: 1, MaxAttempts: 3, Backend: "sim-1",
		CreatedAt: now, DispatchedAt: now, StartedAt: now, FinishedAt: now}
	switch {
	case i < seedQueued:
		j.State, j.Attempts, j.Backend = job.StateQueued, 0, ""
		j.DispatchedAt, j.StartedAt, j.FinishedAt = time.Time{}, time.Time{}, time.Time{}
	case i < seedQueued+seedRunning:
		j.State, j.FinishedAt, j.LeaseOwner, j.LeaseUntil = job.StateRunning, time.Time{}, "previous-life", now
	default:
		j.Outputs = []job.Output{{ArtifactID: fmt.Sprintf("%064x", i), NodeID: "9", Kind: "images",
			Filename: fmt.Sprintf("ComfyUI_%05d_.png", i), Type: "output", ContentType: "image/png", Size: 4096}}
	}
	return j
}

func copyDir(tb testing.TB, from, to string) {
	tb.Helper()
	if err := os.CopyFS(to, os.DirFS(from)); err != nil {
		tb.Fatal(err)
	}
}
