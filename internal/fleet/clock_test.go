package fleet

import (
	"sync"
	"testing"
	"time"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/comfy/comfysim"
	"github.com/comfygate/comfygate/internal/job"
)

// fakeClock is a Clock that moves only when told to.
type fakeClock struct {
	mu      sync.Mutex // guards now and tickers
	now     time.Time
	tickers []*fakeTicker
}

type fakeTicker struct {
	c      chan time.Time
	every  time.Duration
	next   time.Time
	closed bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTicker(d time.Duration) Ticker {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTicker{c: make(chan time.Time, 1), every: d, next: c.now.Add(d)}
	c.tickers = append(c.tickers, t)
	return &fakeTickerHandle{c: c, t: t}
}

// advance moves time and fires every ticker that came due.
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for _, t := range c.tickers {
		if t.closed || c.now.Before(t.next) {
			continue
		}
		t.next = c.now.Add(t.every)
		select {
		case t.c <- c.now:
		default:
		}
	}
}

type fakeTickerHandle struct {
	c *fakeClock
	t *fakeTicker
}

func (h *fakeTickerHandle) C() <-chan time.Time { return h.t.c }

func (h *fakeTickerHandle) Stop() {
	h.c.mu.Lock()
	h.t.closed = true
	h.c.mu.Unlock()
}

// TestStallDetectedOnInjectedClock loses a run's end on the socket and lets
// only the injected clock move: the stall check must reconcile it.
func TestStallDetectedOnInjectedClock(t *testing.T) {
	s := startSim(t, comfysim.Options{})
	clock := newFakeClock()
	cfg := testConfig(openStore(t, t.TempDir()), newRecHub(), newMemArtifacts(), backendOf("gpu", s, 2))
	cfg.Clock, cfg.StallTimeout, cfg.ProbeInterval = clock, time.Hour, time.Minute
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	lost := make(chan struct{})
	var once sync.Once
	f.testDrop = func(_ *Backend, ev comfy.Event) bool {
		if e, ok := ev.(comfy.Executing); ok && e.Done() {
			once.Do(func() { close(lost) })
			return true
		}
		return false
	}
	e := startFleetWith(t, f, cfg)
	e.waitHealthy(t)
	id := e.submit(t, imageGraph(simCheckpoint, 1, 2))
	<-lost
	if j, _ := e.store.GetJob(t.Context(), id); j.State.Terminal() {
		t.Fatalf("job ended without the stall check: %s", j.State)
	}
	clock.advance(time.Hour + time.Minute) // past StallTimeout, and a probe tick
	j := e.hub.waitTerminal(t, e.store, id)
	if j.State != job.StateSucceeded || len(j.Outputs) != 1 || j.Attempts != 1 {
		t.Fatalf("state %s outputs %d attempts %d error %v", j.State, len(j.Outputs), j.Attempts, j.Error)
	}
}
