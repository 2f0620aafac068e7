package hub

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// serveHub runs h behind an HTTP server: every connection registers with
// the clientId query parameter and is greeted with "hello".
func serveHub(t *testing.T, h *Hub) string {
	t.Helper()
	var wg sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wg.Add(1)
		defer wg.Done()
		ws, err := h.Accept(w, r)
		if err != nil {
			return
		}
		c := h.Register(ws, r.URL.Query().Get("clientId"), []Frame{{Data: []byte("hello")}})
		c.Run(r.Context())
	}))
	t.Cleanup(func() {
		h.CloseAll(false)
		srv.Close()
		wg.Wait()
		h.Wait()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

func dial(t *testing.T, url, id string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url+"?clientId="+id, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(1 << 20)
	t.Cleanup(func() { _ = c.CloseNow() })
	return c
}

func read(t *testing.T, c *websocket.Conn) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, data, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// A socket that stops reading is closed; the sender never blocks and the
// other sockets keep getting everything.
func TestSlowSocketIsDropped(t *testing.T) {
	// The write timeout is long enough for a reader on a busy machine, and
	// 12 MB is more than the kernel buffers of a socket nobody reads.
	h := New(Options{BufferFrames: 256, BufferBytes: 32 << 20, WriteTimeout: 2 * time.Second})
	url := serveHub(t, h)
	slow := dial(t, url, "slow")
	fast := dial(t, url, "fast")
	_ = slow // never read
	if got := read(t, fast); got != "hello" {
		t.Fatalf("greeting %q", got)
	}
	waitFor(t, "both registered", func() bool { return h.Connected("slow") && h.Connected("fast") })

	done := make(chan error, 1)
	go func() {
		for range 200 {
			if _, _, err := fast.Read(context.Background()); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	big := bytes.Repeat([]byte("x"), 64<<10)
	for range 200 {
		h.Send(nil, Frame{Binary: true, Data: big})
	}
	if err := <-done; err != nil {
		t.Fatalf("reading socket: %v", err)
	}
	waitFor(t, "the slow socket to be dropped", func() bool { return !h.Connected("slow") })
	if !h.Connected("fast") {
		t.Error("the reading socket was dropped")
	}
}

// ComfyUI's quirk: a second socket with the same id takes over; when the
// first closes, its cleanup removes the id, cutting off the second.
func TestSameIDQuirk(t *testing.T) {
	h := New(Options{})
	url := serveHub(t, h)
	first := dial(t, url, "x")
	read(t, first)
	second := dial(t, url, "x")
	read(t, second)
	waitFor(t, "both open", func() bool { return h.Count() == 2 })
	id := "x"
	h.Send(&id, Frame{Data: []byte("to x")})
	if got := read(t, second); got != "to x" {
		t.Fatalf("second got %q", got)
	}
	_ = first.Close(websocket.StatusNormalClosure, "")
	waitFor(t, "the id to be gone", func() bool { return !h.Connected("x") })
	if h.Count() != 1 {
		t.Errorf("open sockets %d, want the second still open", h.Count())
	}
}

func TestPauseHoldsFrames(t *testing.T) {
	h := New(Options{})
	url := serveHub(t, h)
	c := dial(t, url, "p")
	read(t, c)
	h.Pause()
	h.Send(nil, Frame{Data: []byte("later")})
	h.Resume()
	if got := read(t, c); got != "later" {
		t.Errorf("got %q", got)
	}
}
