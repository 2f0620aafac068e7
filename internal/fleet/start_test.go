package fleet

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/comfy/comfysim"
	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/job"
)

// durableTypes lists the types of the durable events among evs, and
// where the first event of type typ is.
func durableTypes(evs []events.Event, typ string) (types []string, first int) {
	first = -1
	for i, e := range evs {
		if e.Sub == 0 {
			types = append(types, e.Type)
		}
		if e.Type == typ && first < 0 {
			first = i
		}
	}
	return types, first
}

// A run that ends within the start window has its start recorded in the
// commit that records its end: two transactions (claim, end) instead of
// three, and the same events in the same order.
func TestStartRecordedWithTheEnd(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		window  time.Duration
		updates int64
	}{
		{"window", time.Minute, 2},
		{"no window", -1, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, st := countingEnv(t, comfysim.Options{}, func(c *Config) { c.StartWindow = tc.window })
			id := e.submit(t, imageGraph(simCheckpoint, 1, 3))
			j := e.hub.waitTerminal(t, e.store, id)
			if j.State != job.StateSucceeded || j.StartedAt.IsZero() || j.StartedAt.After(j.FinishedAt) {
				t.Fatalf("job %s started %v finished %v", j.State, j.StartedAt, j.FinishedAt)
			}
			if n := st.updates.Load(); n != tc.updates {
				t.Errorf("%d update transactions, want %d", n, tc.updates)
			}
			checkEventOrder(t, e.hub.ofJob(id))
			stored, err := e.store.ListEvents(context.Background(), id, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			var types []string
			for _, ev := range stored {
				types = append(types, ev.Type)
			}
			if want := []string{job.EventDispatched, job.EventStarted, job.EventOutput, job.EventSucceeded}; !slices.Equal(types, want) {
				t.Errorf("stored events %v, want %v", types, want)
			}
		})
	}
}

// A run longer than the window has its start recorded while it runs, and
// what it published meanwhile (node, progress) follows "started".
func TestStartRecordedWhenTheWindowCloses(t *testing.T) {
	t.Parallel()
	e, st := countingEnv(t, comfysim.Options{NodeDelay: 100 * time.Millisecond}, func(c *Config) { c.StartWindow = 20 * time.Millisecond })
	id := e.submit(t, imageGraph(simCheckpoint, 1, 3))
	deadline := time.Now().Add(waitTimeout)
	for {
		j, err := e.store.GetJob(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State == job.StateRunning {
			break
		}
		if j.State.Terminal() || time.Now().After(deadline) {
			t.Fatalf("job went %s without being seen running", j.State)
		}
		time.Sleep(5 * time.Millisecond)
	}
	e.hub.waitTerminal(t, e.store, id)
	evs := e.hub.ofJob(id)
	_, started := durableTypes(evs, job.EventStarted)
	_, node := durableTypes(evs, job.EventNode)
	if started < 0 || node < 0 || node < started {
		t.Errorf("first node event at %d, started at %d: want node events after started", node, started)
	}
	checkEventOrder(t, evs)
	if n := st.updates.Load(); n != 3 {
		t.Errorf("%d update transactions, want 3 (claim, start, end)", n)
	}
}

// When the start window closes with the run's end already in the mailbox
// (the two were ready at once), the end is handled first: the start waits
// to be recorded with it, in one commit, rather than in a commit of its
// own.
func TestStartWindowClosingHandlesTheMailFirst(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		mail    []any
		want    verdict
		updates int64
	}{
		{"end waiting", []any{comfy.ExecutionSuccess{PromptID: "p1"}, comfy.Executing{PromptID: "p1"}}, vFinished, 0},
		{"nothing waiting", nil, keepGoing, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, st := countingEnv(t, comfysim.Options{}, nil)
			r := e.fleet.newRun(e.fleet.backend("gpu"), &Candidate{ID: "job-of-" + tc.name})
			r.promptID = "p1"
			r.start = &pendingStart{at: time.Now(), timer: time.NewTimer(time.Hour)}
			defer r.dropStart()
			for _, m := range tc.mail {
				r.mbox.Push(m, false)
			}
			var buf []any
			if v := r.startWindowClosed(context.Background(), &buf); v != tc.want {
				t.Errorf("verdict %d, want %d", v, tc.want)
			}
			if n := st.updates.Load(); n != tc.updates {
				t.Errorf("%d update transactions, want %d", n, tc.updates)
			}
			if waits := r.start.holding(); waits != (tc.updates == 0) {
				t.Errorf("start still waiting for the end: %v, want %v", waits, tc.updates == 0)
			}
		})
	}
}
