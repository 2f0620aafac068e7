package comfyapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/internal/events"
	"github.com/comfygate/comfygate/internal/job"
	"github.com/comfygate/comfygate/internal/store/sqlite"
)

// driver plays the fleet for relay tests: it moves a job through the
// store, publishes its lifecycle events and taps backend messages.
type driver struct {
	tb testing.TB
	h  *Handler
	s  *sqlite.Store
}

func (d driver) move(id string, to job.State, typ string, mod func(*job.Job)) {
	d.tb.Helper()
	j, ev, err := d.s.UpdateJobWithEvent(context.Background(), id, func(j *job.Job) (*job.Event, error) {
		if to == job.StateDispatched {
			j.Backend = "gpu-1"
		}
		if mod != nil {
			mod(j)
		}
		data, _ := json.Marshal(job.DispatchedData{Backend: "gpu-1", Attempt: j.Attempts})
		return &job.Event{Type: typ, Data: data}, j.TransitionTo(to, time.Now())
	})
	if err != nil {
		d.tb.Fatalf("move %s to %s: %v", id, to, err)
	}
	d.h.cfg.Hub.(*events.Hub).Publish(events.FromStore(j.Owner, *ev))
}

func (d driver) tap(id string, evs ...comfy.Event) {
	for _, ev := range evs {
		d.h.Message(id, ev)
	}
}

// waitRelay polls the relay's state until cond holds.
func waitRelay(tb testing.TB, d driver, what string, cond func(r *relay) bool) {
	tb.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		var ok bool
		d.settled(func(r *relay) { ok = cond(r) })
		if ok {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
	}
}

// settled runs fn on the relay loop after everything queued before it.
func (d driver) settled(fn func(r *relay)) {
	done := make(chan struct{})
	d.h.relay.mbox.Push(resultItem{apply: func() { fn(d.h.relay); close(done) }}, false)
	<-done
}

func nodePtr(s string) *string { return &s }

func newRelayTest(t *testing.T) (driver, *httptest.Server) {
	h, s := newIdleHandler(t)
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		_ = h.Stop(context.Background())
		srv.Close()
	})
	return driver{tb: t, h: h, s: s}, srv
}

func types(msgs []wsMsg) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.Type)
	}
	return out
}

func TestRunEndHeldUntilFinalized(t *testing.T) {
	d, srv := newRelayTest(t)
	sock := dialWS(t, srv.URL, "?clientId=c", nil)
	id := submit(t, srv.URL, map[string]any{"prompt": imageGraph(8, 8, "held"), "client_id": "c"}, nil)
	d.move(id, job.StateDispatched, job.EventDispatched, nil)
	d.tap(id, comfy.ExecutionStart{PromptID: id}, comfy.Executing{Node: nodePtr("1"), DisplayNode: nodePtr("1"), PromptID: id},
		comfy.ExecutionSuccess{PromptID: id}, comfy.StatusData{}, comfy.Executing{PromptID: id})
	sock.wait("executing node 1", executingNode(id, "1"))
	d.settled(func(r *relay) {
		if js := r.jobs[id]; js == nil || js.hold == nil || js.hold.ready {
			t.Fatal("the run's end is not held while the job is not finalized")
		}
	})
	d.move(id, job.StateRunning, job.EventStarted, nil)
	d.move(id, job.StateSucceeded, job.EventSucceeded, nil)
	sock.wait("end of run", finished(id))
	want := []string{"status", "status", "status", "execution_start", "executing", "execution_success", "status", "executing"}
	if diff := cmp.Diff(want, types(sock.all())); diff != "" {
		t.Errorf("message sequence (-want +got):\n%s", diff)
	}
	if got := do(t, http.MethodGet, srv.URL+"/history/"+id, nil, nil).json(t); got[id] == nil {
		t.Errorf("no history right after executing null: %v", got)
	}
}

func TestRetryDropsTheFailedAttemptsEnd(t *testing.T) {
	d, srv := newRelayTest(t)
	sock := dialWS(t, srv.URL, "?clientId=c", nil)
	id := submit(t, srv.URL, map[string]any{"prompt": imageGraph(8, 8, "retry"), "client_id": "c"}, nil)
	attempt2 := "11111111-2222-8333-8444-555555555555" // a retry's prompt id is not the job's
	d.move(id, job.StateDispatched, job.EventDispatched, nil)
	d.tap(id, comfy.ExecutionStart{PromptID: id}, comfy.ExecutionError{PromptID: id, ExceptionType: "torch.OutOfMemoryError"},
		comfy.Executing{PromptID: id})
	// The relay handles taps and job events on its own goroutine; let it see
	// the first attempt start before that attempt is retried.
	sock.wait("first attempt started", func(m wsMsg) bool { return m.Type == "execution_start" })
	d.move(id, job.StateRetrying, job.EventRetrying, func(j *job.Job) { j.Error = &job.Error{Type: "out_of_memory"} })
	// Job events reach the relay through the hub, taps directly. In
	// production the retry is published a network round trip before the
	// next attempt's first message; wait for the relay to have seen it.
	waitRelay(t, d, "retry seen", func(r *relay) bool { js := r.jobs[id]; return js == nil || !js.started })
	d.move(id, job.StateDispatched, job.EventDispatched, nil)
	d.tap(id, comfy.ExecutionStart{PromptID: attempt2}, comfy.ExecutionSuccess{PromptID: attempt2}, comfy.Executing{PromptID: attempt2})
	d.move(id, job.StateRunning, job.EventStarted, nil)
	d.move(id, job.StateSucceeded, job.EventSucceeded, func(j *job.Job) { j.Error = nil })
	sock.wait("end of run", finished(id))
	for _, m := range sock.all() {
		if m.Type == "execution_error" {
			t.Errorf("the retried attempt's error reached the client: %s", m.Raw)
		}
		if p, ok := m.Data["prompt_id"]; ok && p != id {
			t.Errorf("a message names the attempt's prompt id, not the client's: %s", m.Raw)
		}
	}
	if n := countType(sock.all(), "execution_start"); n != 2 {
		t.Errorf("execution_start %d times, want once per attempt", n)
	}
}

func TestEndMadeUpWhenTheBackendsWasMissed(t *testing.T) {
	d, srv := newRelayTest(t)
	sock := dialWS(t, srv.URL, "?clientId=c", nil)
	id := submit(t, srv.URL, map[string]any{"prompt": imageGraph(8, 8, "lost"), "client_id": "c"}, nil)
	d.move(id, job.StateDispatched, job.EventDispatched, nil)
	d.tap(id, comfy.ExecutionStart{PromptID: id})
	d.move(id, job.StateFailed, job.EventFailed, func(j *job.Job) {
		j.Error = &job.Error{Type: "backend_lost", Message: "the backend lost the job"}
	})
	sock.wait("end of run", finished(id))
	errMsg := sock.all()[len(sock.all())-3]
	if errMsg.Type != "execution_error" || errMsg.Data["exception_type"] != "backend_lost" || errMsg.Data["exception_message"] != "the backend lost the job" {
		t.Errorf("want execution_error, status, executing null; got %v then %s", types(sock.all()), errMsg.Raw)
	}
	entry, _ := do(t, http.MethodGet, srv.URL+"/history/"+id, nil, nil).json(t)[id].(map[string]any)
	status, _ := entry["status"].(map[string]any)
	if status["status_str"] != "error" || status["completed"] != false {
		t.Errorf("history of a job comfygate failed: %v", entry)
	}
}

func countType(msgs []wsMsg, typ string) int {
	n := 0
	for _, m := range msgs {
		if m.Type == typ {
			n++
		}
	}
	return n
}

// flushed sends a marker through the relay and the socket of (owner, sid)
// and waits for it: whatever the relay sent that socket before has arrived.
func (d driver) flushed(s *testSocket, owner, sid string) {
	d.tb.Helper()
	d.settled(func(r *relay) {
		if sock := r.h.sockets.client(owner, sid); sock != nil {
			r.h.sockets.send(sock, frame{data: []byte(`{"type":"test_marker","data":{}}`)})
		}
	})
	s.wait("the marker", func(m wsMsg) bool { return m.Type == "test_marker" })
}

func TestUnknownMessagesPassedOn(t *testing.T) {
	d, srv := newRelayTest(t)
	sock := dialWS(t, srv.URL, "?clientId=c", nil)
	other := dialWS(t, srv.URL, "?clientId=o", nil)
	id := submit(t, srv.URL, map[string]any{"prompt": imageGraph(8, 8, "unknown"), "client_id": "c"}, nil)
	d.move(id, job.StateDispatched, job.EventDispatched, nil)
	attempt := "11111111-2222-8333-8444-555555555555"
	d.tap(id, comfy.UnknownEvent{Type: "display_component", Data: json.RawMessage(`{"prompt_id": "` + attempt + `", "component": "x"}`)},
		comfy.ProgressText{NodeID: "1", Text: "42 tokens"})
	d.tap("", comfy.UnknownEvent{Type: "notification", Data: json.RawMessage(`{"value": "manager says hi"}`)},
		comfy.StatusData{}) // a backend's own status is not a client's business
	for name, s := range map[string]*testSocket{"c": sock, "o": other} {
		m := s.wait("the custom message", func(m wsMsg) bool { return m.Type == "display_component" })
		if m.Data["prompt_id"] != id || m.Data["component"] != "x" {
			t.Errorf("%s: %s, want the client's prompt id and the data kept", name, m.Raw)
		}
		s.wait("the progress text", func(m wsMsg) bool { return len(m.Binary) > 4 && m.Binary[3] == 3 })
		s.wait("the jobless notification", func(m wsMsg) bool { return m.Type == "notification" })
	}
	d.flushed(other, "", "o")
	if n := countType(other.all(), "status"); n != 2 {
		t.Errorf("%d status messages on the observer, want the greeting and the enqueue only", n)
	}
}

func TestStatusCoalescedUnderLoad(t *testing.T) {
	h, s := newIdleHandler(t, func(c *Config) { c.StatusBurst, c.StatusEvery = 2, time.Hour })
	srv := httptest.NewServer(h)
	t.Cleanup(func() { _ = h.Stop(context.Background()); srv.Close() })
	d := driver{tb: t, h: h, s: s}
	sock := dialWS(t, srv.URL, "?clientId=c", nil)
	for i := range 6 {
		submit(t, srv.URL, map[string]any{"prompt": imageGraph(8, 8+i, "burst")}, nil)
	}
	d.flushed(sock, "", "c")
	if n := countType(sock.all(), "status"); n != 3 {
		t.Errorf("%d status messages for 6 enqueues, want the greeting and a burst of 2", n)
	}
	d.settled(func(r *relay) {
		q := r.owners[""]
		if q == nil || !q.status.owed {
			t.Error("the coalesced statuses are not owed")
		}
	})
}
