package postgres_test

import (
	"context"
	"log/slog"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/internal/store/postgres"
	"github.com/comfygate/comfygate/internal/store/postgres/pgtest"
	"github.com/comfygate/comfygate/internal/store/storetest"
)

var (
	pg    *pgtest.Server
	pgErr error
)

func TestMain(m *testing.M) {
	pg, pgErr = pgtest.Start(context.Background())
	// The server's own goroutines live until Cleanup stops it.
	goleak.VerifyTestMain(m, goleak.IgnoreCurrent(), goleak.Cleanup(func(code int) {
		if err := pg.Close(); err != nil && code == 0 {
			code = 1
		}
		os.Exit(code)
	}))
}

func open(tb testing.TB, dsn string) *postgres.Store {
	tb.Helper()
	s, err := postgres.Open(context.Background(), postgres.Config{DSN: dsn, MaxConns: 8, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) job.Store { return open(t, pg.NewDSN(t, pgErr)) })
}

// TestTwoReplicas opens two stores on one database, as two gateway replicas
// would: migrations run once, and a job created by one is claimed by
// exactly one of them.
func TestTwoReplicas(t *testing.T) {
	dsn := pg.NewDSN(t, pgErr)
	a, b := open(t, dsn), open(t, dsn)
	j, _, err := a.CreateJob(t.Context(), &job.Job{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.GetJob(t.Context(), j.ID)
	if err != nil || got.Seq != j.Seq {
		t.Fatalf("replica b reads %v, %v", got, err)
	}
	claim := func(j *job.Job) error {
		if j.State != job.StateQueued {
			return job.ErrConflict
		}
		return j.TransitionTo(job.StateDispatched, j.CreatedAt)
	}
	errs := make(chan error, 2)
	for _, s := range []*postgres.Store{a, b} {
		go func() { _, err := s.UpdateJob(context.Background(), j.ID, claim); errs <- err }()
	}
	e1, e2 := <-errs, <-errs
	if (e1 == nil) == (e2 == nil) {
		t.Errorf("claims by two replicas: %v and %v; want exactly one success", e1, e2)
	}
}
