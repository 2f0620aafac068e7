package postgres_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/comfygate/comfygate/internal/store/postgres"
)

// received collects what a bus's handlers were given, in order.
type received struct {
	mu      sync.Mutex
	msgs    []string // "topic:body"
	resyncs int
	changed chan struct{} // cap 1
}

func newReceived() *received { return &received{changed: make(chan struct{}, 1)} }

func (r *received) add(topic string, body []byte) {
	r.mu.Lock()
	r.msgs = append(r.msgs, topic+":"+string(body))
	r.mu.Unlock()
	r.poke()
}

func (r *received) resync() {
	r.mu.Lock()
	r.resyncs++
	r.mu.Unlock()
	r.poke()
}

func (r *received) poke() {
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// wait polls cond under the lock until it holds or 10s pass.
func (r *received) wait(tb testing.TB, what string, cond func(msgs []string, resyncs int) bool) {
	tb.Helper()
	deadline := time.After(10 * time.Second)
	for {
		r.mu.Lock()
		ok := cond(r.msgs, r.resyncs)
		n, rs := len(r.msgs), r.resyncs
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-r.changed:
		case <-deadline:
			tb.Fatalf("timed out waiting for %s (%d messages, %d resyncs)", what, n, rs)
		}
	}
}

func startBus(tb testing.TB, s *postgres.Store, origin string, r *received, topics ...string) *postgres.Bus {
	tb.Helper()
	b, err := postgres.NewBus(s, postgres.BusConfig{Origin: origin, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	for _, topic := range topics {
		b.Handle(topic, func(body []byte) { r.add(topic, bytes.Clone(body)) })
	}
	b.OnResync(r.resync)
	if err := b.Start(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := b.Stop(ctx); err != nil {
			tb.Errorf("stop bus: %v", err)
		}
	})
	return b
}

func TestBusDelivers(t *testing.T) {
	dsn := pg.NewDSN(t, pgErr)
	sa, sb := open(t, dsn), open(t, dsn)
	ra, rb := newReceived(), newReceived()
	a := startBus(t, sa, "a", ra, "ev", "tap")
	startBus(t, sb, "b", rb, "ev")

	big := strings.Repeat("p", 20_000) // a preview: more than a NOTIFY holds
	var want []string
	for i := range 300 {
		body := fmt.Sprintf("event %d", i)
		if i == 150 {
			body = big
		}
		if !a.Send("ev", []byte(body), false) {
			t.Fatal("Send refused a message on a running bus")
		}
		want = append(want, "ev:"+body)
	}
	a.Send("tap", []byte("nobody handles this topic on b"), true)
	a.Send("ev", []byte("last"), false)
	want = append(want, "ev:last")
	rb.wait(t, "every message, in order", func(msgs []string, _ int) bool { return len(msgs) >= len(want) })
	rb.mu.Lock()
	got := rb.msgs
	rb.mu.Unlock()
	diff(t, want, got)
	st := a.Stats()
	if st.Spilled != 1 || st.SpillBytes != uint64(len(big)) {
		t.Errorf("spilled %d messages of %d bytes, want the one preview of %d", st.Spilled, st.SpillBytes, len(big))
	}
	if st.Notifies >= st.Sent/2 {
		t.Errorf("%d notifies for %d messages: small messages are not packed together", st.Notifies, st.Sent)
	}
	ra.mu.Lock()
	defer ra.mu.Unlock()
	if len(ra.msgs) != 0 {
		t.Errorf("a replica heard its own messages: %q", ra.msgs[:min(3, len(ra.msgs))])
	}
}

func diff(tb testing.TB, want, got []string) {
	tb.Helper()
	if len(want) != len(got) {
		tb.Fatalf("got %d messages, want %d", len(got), len(want))
	}
	for i := range want {
		if want[i] != got[i] {
			tb.Fatalf("message %d = %.40q, want %.40q", i, got[i], want[i])
		}
	}
}

// TestBusSchemasApart: stores in two schemas of one database (tests, or
// two deployments) do not hear each other.
func TestBusSchemasApart(t *testing.T) {
	one, two := open(t, pg.NewDSN(t, pgErr)), open(t, pg.NewDSN(t, pgErr))
	r1, r2 := newReceived(), newReceived()
	b1 := startBus(t, one, "x", r1, "ev")
	startBus(t, two, "y", r2, "ev")
	peer := startBus(t, one, "z", newReceived(), "ev")
	b1.Send("ev", []byte("for my schema"), false)
	peer.Send("ev", []byte("back"), false)
	r1.wait(t, "the peer in the same schema", func(msgs []string, _ int) bool { return len(msgs) == 1 })
	r2.mu.Lock()
	defer r2.mu.Unlock()
	if len(r2.msgs) != 0 {
		t.Errorf("another schema heard %q", r2.msgs)
	}
}

// TestBusResyncs: a listener that loses its connection reconnects and says
// so (what was sent meanwhile is lost); an unreadable notification, or a
// spilled message already pruned, is a loss too.
func TestBusResyncs(t *testing.T) {
	dsn := pg.NewDSN(t, pgErr)
	sa, sb := open(t, dsn), open(t, dsn)
	rb := newReceived()
	a := startBus(t, sa, "a", newReceived(), "ev")
	b := startBus(t, sb, "b", rb, "ev")
	channel := listenChannel(t, sb)

	t.Run("connection killed", func(t *testing.T) {
		if _, err := sa.Pool().Exec(t.Context(),
			`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'LISTEN ' || quote_ident($1)`, channel); err != nil {
			t.Fatal(err)
		}
		rb.wait(t, "a resync", func(_ []string, resyncs int) bool { return resyncs >= 1 })
		a.Send("ev", []byte("after the reconnect"), false)
		rb.wait(t, "a message after the reconnect", func(msgs []string, _ int) bool {
			return len(msgs) > 0 && msgs[len(msgs)-1] == "ev:after the reconnect"
		})
		if b.Ready() != nil {
			t.Errorf("Ready after reconnecting: %v", b.Ready())
		}
	})
	for name, payload := range map[string]string{
		"not base64":      "!!!",
		"unknown version": base64.RawStdEncoding.EncodeToString([]byte{9}),
		"pruned spill":    spilledFrame("a", "ev", 1<<40),
	} {
		t.Run(name, func(t *testing.T) {
			rb.mu.Lock()
			before := rb.resyncs
			rb.mu.Unlock()
			if _, err := sa.Pool().Exec(t.Context(), `SELECT pg_notify($1, $2)`, channel, payload); err != nil {
				t.Fatal(err)
			}
			rb.wait(t, "a resync", func(_ []string, resyncs int) bool { return resyncs > before })
		})
	}
}

// listenChannel finds the channel a store's bus listens on.
func listenChannel(tb testing.TB, s *postgres.Store) string {
	tb.Helper()
	var schema string
	if err := s.Pool().QueryRow(tb.Context(), `SELECT current_schema()`).Scan(&schema); err != nil {
		tb.Fatal(err)
	}
	return "comfygate:" + schema
}

// spilledFrame is a notification naming a spilled message at ref.
func spilledFrame(origin, topic string, ref int64) string {
	b := []byte{1}
	b = binary.AppendUvarint(b, uint64(len(origin)))
	b = append(b, origin...)
	b = append(b, 'r')
	b = binary.AppendUvarint(b, uint64(len(topic)))
	b = append(b, topic...)
	b = binary.AppendUvarint(b, uint64(ref))
	return base64.RawStdEncoding.EncodeToString(b)
}

// TestBusStopFlushes: what was queued before Stop is sent; later sends
// are refused.
func TestBusStopFlushes(t *testing.T) {
	dsn := pg.NewDSN(t, pgErr)
	sa, sb := open(t, dsn), open(t, dsn)
	rb := newReceived()
	startBus(t, sb, "b", rb, "ev")
	a, err := postgres.NewBus(sa, postgres.BusConfig{Origin: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if err := sa.Ping(t.Context()); err == nil {
		t.Error("Ping passed with a bus made but not listening")
	}
	if err := a.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := sa.Ping(t.Context()); err != nil {
		t.Errorf("Ping with the bus listening: %v", err)
	}
	for i := range 100 {
		a.Send("ev", fmt.Appendf(nil, "%d", i), false)
	}
	if err := a.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if a.Send("ev", []byte("late"), false) {
		t.Error("Send accepted a message after Stop")
	}
	rb.wait(t, "the queued messages", func(msgs []string, _ int) bool { return len(msgs) == 100 })
	if a.Ready() == nil || sa.Ping(t.Context()) == nil {
		t.Error("a stopped bus says it is listening, or its store's Ping passes")
	}
}

func TestBusConfig(t *testing.T) {
	s := open(t, pg.NewDSN(t, pgErr))
	if _, err := postgres.NewBus(s, postgres.BusConfig{}); err == nil {
		t.Error("a bus without an origin was made")
	}
	b, err := postgres.NewBus(s, postgres.BusConfig{Origin: "a", Channel: "custom channel"})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Stop(t.Context()); err != nil {
		t.Errorf("Stop before Start: %v", err)
	}
	if err := b.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer b.Stop(context.Background())
	var n int
	err = s.Pool().QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity WHERE query = 'LISTEN ' || $1`,
		pgx.Identifier{"custom channel"}.Sanitize()).Scan(&n)
	if err != nil || n != 1 {
		t.Errorf("listeners on the configured channel: %d, %v", n, err)
	}
}
