package sqlite_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/internal/store/sqlite"
	"github.com/comfygate/comfygate/internal/store/storetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		removeReadyDB()
		os.Exit(code)
	}))
}

// open opens a store on path and closes it when tb ends.
func open(tb testing.TB, cfg sqlite.Config) *sqlite.Store {
	tb.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := sqlite.Open(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("Open(%s): %v", cfg.Path, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

func tempPath(tb testing.TB) string { return filepath.Join(tb.TempDir(), "sub", "comfygate.db") }

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) job.Store { return open(t, sqlite.Config{Path: tempPath(t)}) })
}

// TestReopen is a restart: what was written before Close is there after Open.
func TestReopen(t *testing.T) {
	ctx := t.Context()
	path := tempPath(t)
	s, err := sqlite.Open(ctx, sqlite.Config{Path: path, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	created, _, err := s.CreateJob(ctx, &job.Job{Source: job.SourceREST})
	if err != nil {
		t.Fatal(err)
	}
	updated, ev, err := s.UpdateJobWithEvent(ctx, created.ID, func(j *job.Job) (*job.Event, error) {
		j.Backend = "gpu-1"
		return &job.Event{Type: "dispatched"}, j.TransitionTo(job.StateDispatched, time.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2 := open(t, sqlite.Config{Path: path}) // migrations already applied: a no-op
	got, err := s2.GetJob(ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != job.StateDispatched || got.Backend != "gpu-1" || !got.UpdatedAt.Equal(updated.UpdatedAt) {
		t.Errorf("after reopen: %+v", got)
	}
	active, err := s2.ActiveJobs(ctx)
	if err != nil || len(active) != 1 || active[0].ID != created.ID {
		t.Errorf("ActiveJobs after reopen = %v, %v", active, err)
	}
	events, err := s2.ListEvents(ctx, created.ID, 0, 0)
	if err != nil || len(events) != 1 || events[0].Seq != ev.Seq {
		t.Errorf("events after reopen = %v, %v", events, err)
	}
	next, _, err := s2.CreateJob(ctx, &job.Job{})
	if err != nil || next.Seq <= created.Seq {
		t.Errorf("Seq after reopen = %d (before: %d), %v", next.Seq, created.Seq, err)
	}
}

func TestConfig(t *testing.T) {
	tests := map[string]sqlite.Config{
		"no path":         {},
		"memory":          {Path: ":memory:"},
		"query in path":   {Path: "a.db?x=1"},
		"bad synchronous": {Path: filepath.Join(t.TempDir(), "a.db"), Synchronous: "OFF"},
	}
	for name, cfg := range tests {
		t.Run(name, func(t *testing.T) {
			if s, err := sqlite.Open(t.Context(), cfg); err == nil {
				s.Close()
				t.Errorf("Open(%+v) succeeded", cfg)
			}
		})
	}
}

// TestClock checks that the store's timestamps come from Config.Now.
func TestClock(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 6789, time.UTC)
	s := open(t, sqlite.Config{Path: tempPath(t), Now: func() time.Time { return now }})
	j, _, err := s.CreateJob(t.Context(), &job.Job{})
	if err != nil {
		t.Fatal(err)
	}
	want := now.Truncate(time.Microsecond)
	if !j.CreatedAt.Equal(want) || !j.UpdatedAt.Equal(want) {
		t.Errorf("CreatedAt %v UpdatedAt %v, want %v", j.CreatedAt, j.UpdatedAt, want)
	}
	now = now.Add(time.Hour)
	u, err := s.UpdateJob(t.Context(), j.ID, func(*job.Job) error { return nil })
	if err != nil || !u.UpdatedAt.Equal(now.Truncate(time.Microsecond)) {
		t.Errorf("UpdatedAt after update = %v, %v; want %v", u.UpdatedAt, err, now)
	}
}
