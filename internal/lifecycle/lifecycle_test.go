package lifecycle

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitLimit bounds waits that only matter when a test is about to fail.
const waitLimit = 10 * time.Second

func noop(context.Context) error { return nil }

func TestStartRunsOnce(t *testing.T) {
	t.Parallel()
	var l Lifecycle
	var calls atomic.Int32
	start := func(context.Context) error { calls.Add(1); return nil }
	if err := l.Start(context.Background(), start); err != nil {
		t.Fatal(err)
	}
	if err := l.Start(context.Background(), start); !errors.Is(err, ErrStarted) {
		t.Errorf("second Start = %v, want ErrStarted", err)
	}
	if err := l.Stop(context.Background(), noop); err != nil {
		t.Fatal(err)
	}
	if err := l.Start(context.Background(), start); !errors.Is(err, ErrStarted) {
		t.Errorf("Start after Stop = %v, want ErrStarted", err)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("start ran %d times, want 1", n)
	}
}

func TestFailedStartLeavesItUnstarted(t *testing.T) {
	t.Parallel()
	var l Lifecycle
	boom := errors.New("boom")
	var failedCtx context.Context
	err := l.Start(context.Background(), func(ctx context.Context) error { failedCtx = ctx; return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("Start = %v, want the start function's error", err)
	}
	if failedCtx.Err() == nil {
		t.Error("the lifetime context of a failed start is still live")
	}
	if l.Context() != nil {
		t.Error("Context after a failed Start is not nil")
	}
}

// An unstarted component, never started or after a failed start, ignores
// Stop and Cancel and can still start.
func TestUnstartedIgnoresStop(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(*Lifecycle)
	}{
		{"never started", func(*Lifecycle) {}},
		{"start failed", func(l *Lifecycle) {
			_ = l.Start(context.Background(), func(context.Context) error { return errors.New("boom") })
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var l Lifecycle
			tt.setup(&l)
			ran := false
			if err := l.Stop(context.Background(), func(context.Context) error { ran = true; return nil }); err != nil || ran {
				t.Errorf("Stop = %v, ran its function %v; want nil, not run", err, ran)
			}
			l.Cancel() // a no-op, not a panic
			if err := l.Start(context.Background(), noop); err != nil {
				t.Errorf("Start after that = %v, want nil", err)
			}
			if err := l.Stop(context.Background(), noop); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestStopRunsOnceAndLaterCallsGetItsResult(t *testing.T) {
	t.Parallel()
	var l Lifecycle
	if err := l.Start(context.Background(), noop); err != nil {
		t.Fatal(err)
	}
	first := errors.New("first stop's result")
	release := make(chan struct{})
	entered := make(chan struct{})
	var calls atomic.Int32
	stop := func(context.Context) error {
		if calls.Add(1) == 1 {
			close(entered)
			<-release
		}
		return first
	}
	const n = 4
	errs := make(chan error, n)
	go func() { errs <- l.Stop(context.Background(), stop) }()
	<-entered
	var wg sync.WaitGroup
	for range n - 1 {
		wg.Go(func() { errs <- l.Stop(context.Background(), stop) })
	}
	close(release)
	wg.Wait()
	for range n {
		if err := <-errs; !errors.Is(err, first) {
			t.Errorf("Stop = %v, want the first stop's result", err)
		}
	}
	if c := calls.Load(); c != 1 {
		t.Errorf("stop ran %d times, want 1", c)
	}
}

func TestWaitingStopEndsWithItsContext(t *testing.T) {
	t.Parallel()
	var l Lifecycle
	if err := l.Start(context.Background(), noop); err != nil {
		t.Fatal(err)
	}
	release, entered := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- l.Stop(context.Background(), func(context.Context) error { close(entered); <-release; return nil })
	}()
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Stop(ctx, noop); !errors.Is(err, context.Canceled) {
		t.Errorf("a Stop waiting with an ended ctx = %v, want context.Canceled", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Errorf("first Stop = %v", err)
	}
}

func TestLifetimeContext(t *testing.T) {
	t.Parallel()
	var l Lifecycle
	if l.Context() != nil {
		t.Fatal("Context before Start is not nil")
	}
	type key struct{}
	parent := context.WithValue(context.Background(), key{}, "v")
	var seen context.Context
	if err := l.Start(parent, func(ctx context.Context) error {
		// The start function may wait on something that reads the context.
		got := make(chan context.Context)
		go func() { got <- l.Context() }()
		select {
		case c := <-got:
			if c != ctx {
				t.Error("Context during start is not the start function's context")
			}
		case <-time.After(waitLimit):
			t.Error("Context blocked while the start function ran")
		}
		seen = ctx
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	lctx := l.Context()
	if lctx != seen || lctx.Value(key{}) != "v" || lctx.Err() != nil {
		t.Fatalf("lifetime context %v: want the live child of Start's ctx", lctx)
	}
	if err := l.Stop(context.Background(), func(context.Context) error {
		if lctx.Err() != nil {
			t.Error("the lifetime context ended before the stop function ran")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if lctx.Err() == nil {
		t.Error("the lifetime context is live after Stop")
	}
}

func TestCancelEndsTheLifetimeEarly(t *testing.T) {
	t.Parallel()
	var l Lifecycle
	if err := l.Start(context.Background(), noop); err != nil {
		t.Fatal(err)
	}
	err := l.Stop(context.Background(), func(context.Context) error {
		lctx := l.Context()
		l.Cancel()
		if lctx.Err() == nil {
			t.Error("Cancel left the lifetime context live")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestParentCancellationEndsTheLifetime(t *testing.T) {
	t.Parallel()
	var l Lifecycle
	ctx, cancel := context.WithCancel(context.Background())
	if err := l.Start(ctx, noop); err != nil {
		t.Fatal(err)
	}
	cancel()
	if l.Context().Err() == nil {
		t.Error("the lifetime context outlived Start's ctx")
	}
	if err := l.Stop(context.Background(), noop); err != nil {
		t.Fatal(err)
	}
}
