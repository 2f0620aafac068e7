package groupcommit

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recorder is a run func that remembers its batches and fails the items
// named "fail".
type recorder struct {
	mu      sync.Mutex
	batches [][]string
	gate    chan struct{} // when set, the first batch waits on it
}

func (r *recorder) run(batch []string) []error {
	r.mu.Lock()
	first := len(r.batches) == 0
	r.batches = append(r.batches, slices.Clone(batch))
	r.mu.Unlock()
	if first && r.gate != nil {
		<-r.gate
	}
	errs := make([]error, len(batch))
	for i, v := range batch {
		if v == "fail" {
			errs[i] = fmt.Errorf("item %s failed", v)
		}
	}
	return errs
}

func TestIdleCallerRunsAlone(t *testing.T) {
	r := &recorder{}
	b := New(8, r.run)
	defer b.Close()
	if err := b.Do("a"); err != nil {
		t.Fatal(err)
	}
	if err := b.Do("fail"); err == nil {
		t.Error("a failing item returned nil")
	}
	if want := [][]string{{"a"}, {"fail"}}; !slices.EqualFunc(r.batches, want, slices.Equal) {
		t.Errorf("batches = %v, want %v", r.batches, want)
	}
}

// Items that arrive while a batch runs wait and then run together, at most
// maxBatch at a time, each answered with its own error.
func TestQueuedItemsRunAsBatches(t *testing.T) {
	r := &recorder{gate: make(chan struct{})}
	b := New(3, r.run)
	defer b.Close()

	first := make(chan error, 1)
	go func() { first <- b.Do("lead") }()
	waitFor(t, func() bool { r.mu.Lock(); defer r.mu.Unlock(); return len(r.batches) == 1 })

	items := []string{"b", "fail", "d", "e", "f"}
	errs := make([]error, len(items))
	var wg sync.WaitGroup
	for i, v := range items {
		wg.Go(func() { errs[i] = b.Do(v) })
	}
	waitFor(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return len(b.queue) == len(items) })
	close(r.gate)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatal(err)
	}

	for i, v := range items {
		if (v == "fail") != (errs[i] != nil) {
			t.Errorf("item %s: err = %v", v, errs[i])
		}
	}
	var sizes []int
	seen := map[string]bool{}
	for _, batch := range r.batches[1:] {
		sizes = append(sizes, len(batch))
		for _, v := range batch {
			seen[v] = true
		}
	}
	if !slices.Equal(sizes, []int{3, 2}) {
		t.Errorf("queued batch sizes = %v, want [3 2]", sizes)
	}
	if len(seen) != len(items) {
		t.Errorf("ran %v, want every one of %v", seen, items)
	}
}

func TestCloseWaitsThenRefuses(t *testing.T) {
	r := &recorder{gate: make(chan struct{})}
	b := New(4, r.run)
	done := make(chan error, 1)
	go func() { done <- b.Do("a") }()
	waitFor(t, func() bool { r.mu.Lock(); defer r.mu.Unlock(); return len(r.batches) == 1 })

	closed := make(chan struct{})
	go func() { b.Close(); close(closed) }()
	waitFor(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.closed })
	select {
	case <-closed:
		t.Fatal("Close returned while a batch was running")
	default:
	}
	close(r.gate)
	<-closed
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := b.Do("late"); !errors.Is(err, ErrClosed) {
		t.Errorf("Do after Close = %v, want ErrClosed", err)
	}
}

// waitFor polls cond until it holds; the test's own deadline bounds it.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for !cond() {
		if t.Context().Err() != nil {
			t.Fatal("condition never held")
		}
		runtime.Gosched()
	}
}
