package fidelity

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/coder/websocket"
)

// replayWS extends replayHandler to the simplest WebSocket scenarios: a
// socket gets its captured greeting on connect and the rest of its captured
// frames once POST /prompt has been answered.
type replayWS struct {
	http    http.Handler
	sockets []RawSocket

	mu      sync.Mutex // guards the fields below
	used    int
	pending []chan struct{} // one per connected socket, closed by POST /prompt
	wg      sync.WaitGroup
}

func (r *replayWS) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path == "/ws" {
		r.serveWS(w, req)
		return
	}
	r.http.ServeHTTP(w, req)
	if req.Method == http.MethodPost && req.URL.Path == "/prompt" {
		r.mu.Lock()
		for _, ch := range r.pending {
			close(ch)
		}
		r.pending = nil
		r.mu.Unlock()
	}
}

func (r *replayWS) serveWS(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	sock := r.sockets[r.used]
	r.used++
	go1 := make(chan struct{})
	r.pending = append(r.pending, go1)
	r.wg.Add(1)
	r.mu.Unlock()
	defer r.wg.Done()
	c, err := websocket.Accept(w, req, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx := c.CloseRead(req.Context())
	for i, e := range sock.Events {
		if e.Recv == nil {
			continue
		}
		if i > 0 {
			select {
			case <-go1:
			case <-ctx.Done():
				return
			}
		}
		if err := c.Write(ctx, websocket.MessageText, []byte(*e.Recv)); err != nil {
			return
		}
	}
	<-ctx.Done()
}

// TestReplayWebSocket runs scenarios whose sockets follow one prompt against
// their own capture: waits, socket recording and the comparison of message
// sequences must all line up.
func TestReplayWebSocket(t *testing.T) {
	raws, err := loadRaw()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"02-submit-run", "16-no-client-id"} {
		t.Run(name, func(t *testing.T) {
			raw := raws[name]
			newTarget := func(tb testing.TB) Target {
				h := &replayWS{http: replayHandler(tb, raw), sockets: raw.WS}
				srv := httptest.NewServer(h)
				tb.Cleanup(func() { srv.Close(); h.wg.Wait() })
				return Target{BaseURL: srv.URL, CounterStart: raw.NumberBase}
			}
			rep := Run(t, newTarget, Options{Only: []string{name}})
			if matched, total := rep.Counts(); matched != total || total == 0 {
				t.Errorf("replay of the capture: %s", rep.Summary())
			}
		})
	}
}
