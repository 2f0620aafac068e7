package server

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/internal/store/sqlite"
)

// TestRetainDeletesOldJobs starts a server with Retain over a data
// directory holding a job that finished long ago and one that finished
// just now: the first sweep runs at start, removes the old one and counts
// it in /metrics, and keeps the other.
func TestRetainDeletesOldJobs(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	old := storeFinishedJob(t, filepath.Join(dir, dbFile), now.Add(-48*time.Hour))
	recent := storeFinishedJob(t, filepath.Join(dir, dbFile), now)

	s := startServer(t, Config{DataDir: dir, Retain: 24 * time.Hour})
	c := client(t)
	if !poll(func() bool { code, _ := get(t, c, s.URL()+"/v1/jobs/"+old); return code == http.StatusNotFound }) {
		t.Fatal("the old job was never deleted")
	}
	if code, body := get(t, c, s.URL()+"/v1/jobs/"+recent); code != http.StatusOK {
		t.Errorf("the recent job: %d %s", code, body)
	}
	_, metrics := get(t, c, s.URL()+"/metrics")
	if !strings.Contains(string(metrics), "comfygate_retention_jobs_deleted_total 1") {
		t.Errorf("/metrics lacks comfygate_retention_jobs_deleted_total 1:\n%s", grepLines(string(metrics), "retention"))
	}
}

func TestNoRetainKeepsJobs(t *testing.T) {
	dir := t.TempDir()
	old := storeFinishedJob(t, filepath.Join(dir, dbFile), time.Now().Add(-10*365*24*time.Hour))
	s := startServer(t, Config{DataDir: dir})
	c := client(t)
	if code, body := get(t, c, s.URL()+"/v1/jobs/"+old); code != http.StatusOK {
		t.Errorf("a ten-year-old job without Retain: %d %s", code, body)
	}
	if _, metrics := get(t, c, s.URL()+"/metrics"); strings.Contains(string(metrics), "comfygate_retention") {
		t.Errorf("retention metrics without Retain:\n%s", grepLines(string(metrics), "retention"))
	}
}

// storeFinishedJob writes a job that succeeded at end into the database
// at path and returns its id.
func storeFinishedJob(tb testing.TB, path string, end time.Time) string {
	tb.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Config{Path: path})
	if err != nil {
		tb.Fatal(err)
	}
	defer st.Close()
	j, _, err := st.CreateJob(ctx, &job.Job{Source: job.SourceREST, Graph: []byte(`{}`), State: job.StateSucceeded,
		Attempts: 1, CreatedAt: end.Add(-time.Minute), FinishedAt: end})
	if err != nil {
		tb.Fatal(err)
	}
	return j.ID
}

func grepLines(s, word string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestRetainMustNotBeNegative(t *testing.T) {
	if _, err := New(Config{Retain: -time.Hour}); err == nil || !strings.Contains(err.Error(), "retain") {
		t.Errorf("New with a negative Retain: %v, want an error naming retain", err)
	}
}
