package comfy

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// nextEvent waits for the watcher's next event (the bound only stops a hung
// test).
func nextEvent(tb testing.TB, w *Watcher) Event {
	tb.Helper()
	select {
	case ev, ok := <-w.Events():
		if !ok {
			tb.Fatal("events closed")
		}
		return ev
	case <-time.After(time.Minute):
		tb.Fatal("no event")
		return nil
	}
}

func nextConnection(tb testing.TB, w *Watcher) ConnectionEvent {
	tb.Helper()
	for {
		if ce, ok := nextEvent(tb, w).(ConnectionEvent); ok {
			return ce
		}
	}
}

func testWatcherConfig(base, id string, ct *connTracker) WatcherConfig {
	return WatcherConfig{
		BaseURL: base, ClientID: id,
		Dial:       DialOptions{HTTPClient: ct.client(), FeatureFlags: FeatureFlags{FlagSupportsPreviewMetadata: true}},
		MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond,
		PingInterval: -1,
	}
}

// TestWatcherReconnectsWithoutOverlap drops the connection several times; the
// watcher must redial each time, never with two sockets for its id.
func TestWatcherReconnectsWithoutOverlap(t *testing.T) {
	t.Parallel()
	f := newFakeWS(t, func(ctx context.Context, c *websocket.Conn, sid string) {
		sendFrames(Frame{Data: []byte(`{"type": "execution_start", "data": {"prompt_id": "p", "timestamp": 1}}`)})(ctx, c, sid)
	})
	ct := &connTracker{tb: t}
	w, err := StartWatcher(context.Background(), testWatcherConfig(f.srv.URL, "gw-1", ct))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	const drops = 5
	for i := range drops + 1 {
		ce := nextConnection(t, w)
		if ce.State != StateConnected || ce.SID != "gw-1" || ce.Greeting.Sid == nil {
			t.Fatalf("round %d: %+v, want connected as gw-1", i, ce)
		}
		if f.waitArrival(t) != "gw-1" {
			t.Fatal("server saw another id")
		}
		ev := nextEvent(t, w)
		if _, ok := ev.(FeatureFlags); ok { // the negotiation reply may come first
			ev = nextEvent(t, w)
		}
		if es, ok := ev.(ExecutionStart); !ok || es.PromptID != "p" {
			t.Fatalf("round %d: event %#v, want execution_start", i, ev)
		}
		if !w.Connected() {
			t.Error("Connected() false while connected")
		}
		if i == drops {
			break
		}
		f.dropAll()
		ce = nextConnection(t, w)
		if ce.State != StateDisconnected || ce.Err == nil {
			t.Fatalf("round %d: %+v, want disconnected with an error", i, ce)
		}
	}
	dials, overlap := ct.stats()
	if dials != drops+1 || overlap != 0 {
		t.Errorf("%d dials, %d while another connection was open; want %d, 0", dials, overlap, drops+1)
	}
}

func TestWatcherDialFailuresThenClose(t *testing.T) {
	t.Parallel()
	f := newFakeWS(t, nil)
	url := f.srv.URL + "/nowhere"
	ct := &connTracker{tb: t}
	w, err := StartWatcher(context.Background(), testWatcherConfig(url, "gw-2", ct))
	if err != nil {
		t.Fatal(err)
	}
	for want := 1; want <= 3; want++ {
		ce := nextConnection(t, w)
		if ce.State != StateDisconnected || ce.Attempt != want || ce.Err == nil {
			t.Fatalf("%+v, want failed attempt %d", ce, want)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for range w.Events() { // drains and ends: Close closed the channel
	}
}

// TestWatcherPingDetectsDeadPeer: a server that stops reading never answers
// pings; the watcher must notice and redial.
func TestWatcherPingDetectsDeadPeer(t *testing.T) {
	t.Parallel()
	f := newFakeWS(t, nil)
	f.deaf = true
	ct := &connTracker{tb: t}
	cfg := testWatcherConfig(f.srv.URL, "gw-3", ct)
	cfg.PingInterval = 5 * time.Millisecond
	w, err := StartWatcher(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, want := range []ConnState{StateConnected, StateDisconnected, StateConnected} {
		if ce := nextConnection(t, w); ce.State != want {
			t.Fatalf("state %v, want %v", ce.State, want)
		}
	}
	if _, overlap := ct.stats(); overlap != 0 {
		t.Errorf("%d dials overlapped an open connection", overlap)
	}
}

func TestWatcherStopsWithContext(t *testing.T) {
	t.Parallel()
	f := newFakeWS(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	w, err := StartWatcher(ctx, testWatcherConfig(f.srv.URL, "gw-4", &connTracker{tb: t}))
	if err != nil {
		t.Fatal(err)
	}
	if ce := nextConnection(t, w); ce.State != StateConnected {
		t.Fatalf("%+v", ce)
	}
	cancel()
	for range w.Events() {
	}
	w.Close()
	if w.Connected() {
		t.Error("Connected() after stop")
	}
}

func TestWatcherConfigErrors(t *testing.T) {
	t.Parallel()
	for _, cfg := range []WatcherConfig{{}, {BaseURL: "http://h"}, {ClientID: "x"}, {BaseURL: "ftp://h", ClientID: "x"}} {
		if _, err := StartWatcher(context.Background(), cfg); err == nil {
			t.Errorf("StartWatcher(%+v) succeeded", cfg)
		}
	}
	var ce ConnectionEvent
	if ce.EventType() != EventConnection || StateConnected.String() != "connected" || errors.Is(nil, ErrNotFound) {
		t.Error("names")
	}
}
