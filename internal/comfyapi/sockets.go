package comfyapi

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// frame is one WebSocket message ready to send.
type frame struct {
	binary bool
	data   []byte
}

// socket is one downstream WebSocket. Its writer goroutine drains out; a
// socket that falls behind by more than the registry's buffer is closed
// rather than allowed to hold up the relay.
type socket struct {
	ws     *websocket.Conn
	conn   *corkConn // ws's connection, corked while a batch is written
	owner  string
	sid    string
	out    chan frame
	ctx    context.Context // cancelled to make the writer close the socket
	cancel context.CancelFunc
	done   chan struct{} // closed when the writer exited
	// metadata is true once the client negotiated supports_preview_metadata.
	metadata atomic.Bool
}

type sockKey struct{ owner, sid string }

// registry is the table of downstream sockets, by owner and client id. As
// in ComfyUI, a second socket with a client id already connected takes
// over its messages and the first one stays open but silent; unlike
// ComfyUI, the first one closing later does not unregister the second.
type registry struct {
	log    *slog.Logger
	buffer int

	mu      sync.Mutex // guards the maps
	byID    map[sockKey]*socket
	byOwner map[string]map[*socket]bool // registered (latest per id) sockets
	all     map[*socket]bool            // every open socket, orphans included
	closed  bool

	wg sync.WaitGroup // writer goroutines
}

func newRegistry(buffer int, log *slog.Logger) *registry {
	return &registry{log: log, buffer: buffer, byID: map[sockKey]*socket{},
		byOwner: map[string]map[*socket]bool{}, all: map[*socket]bool{}}
}

// writeTimeout bounds one write of a batch of frames to the network.
const writeTimeout = 10 * time.Second

// maxBatch is about the most bytes of frames a socket's writer gathers
// before it writes them out.
const maxBatch = 64 << 10

// add registers ws, whose connection is conn, as the socket of (owner,
// sid), queues greeting ahead of anything else and starts its writer. It
// reports false after closeAll.
func (rg *registry) add(ws *websocket.Conn, conn *corkConn, owner, sid string, greeting func() []frame) (*socket, bool) {
	ctx, cancel := context.WithCancel(context.Background())
	context.AfterFunc(ctx, conn.stop)
	s := &socket{ws: ws, conn: conn, owner: owner, sid: sid, out: make(chan frame, rg.buffer), ctx: ctx, cancel: cancel, done: make(chan struct{})}
	rg.mu.Lock()
	if rg.closed {
		rg.mu.Unlock()
		cancel()
		return nil, false
	}
	key := sockKey{owner, sid}
	if old := rg.byID[key]; old != nil {
		delete(rg.byOwner[owner], old)
	}
	rg.byID[key] = s
	if rg.byOwner[owner] == nil {
		rg.byOwner[owner] = map[*socket]bool{}
	}
	rg.byOwner[owner][s] = true
	rg.all[s] = true
	for _, f := range greeting() {
		s.out <- f // a new channel with room for the greeting
	}
	rg.wg.Add(1)
	rg.mu.Unlock()
	go rg.writeLoop(s)
	return s, true
}

// remove unregisters s (only its own entry) and waits for its writer.
func (rg *registry) remove(s *socket) {
	rg.mu.Lock()
	key := sockKey{s.owner, s.sid}
	if rg.byID[key] == s {
		delete(rg.byID, key)
	}
	delete(rg.byOwner[s.owner], s)
	if len(rg.byOwner[s.owner]) == 0 {
		delete(rg.byOwner, s.owner)
	}
	delete(rg.all, s)
	rg.mu.Unlock()
	s.cancel()
	<-s.done
	_ = s.ws.CloseNow()
}

func (rg *registry) writeLoop(s *socket) {
	defer rg.wg.Done()
	defer close(s.done)
	for {
		select {
		case <-s.ctx.Done():
			_ = s.ws.Close(websocket.StatusGoingAway, "")
			return
		case f := <-s.out:
			if err := s.writeBatch(f); err != nil {
				rg.log.Debug("comfyapi: websocket write failed", "sid", s.sid, "err", err)
				_ = s.ws.CloseNow()
				return
			}
		}
	}
}

// writeBatch writes f and whatever else is queued already (up to about
// maxBatch bytes), each as the message it is, with one write to the
// network. The library's own write timeout is not used: writes go to the
// cork's buffer, and the flush is what is bounded by writeTimeout.
func (s *socket) writeBatch(f frame) error {
	s.conn.cork()
	for more := true; more; f, more = s.queued() {
		typ := websocket.MessageText
		if f.binary {
			typ = websocket.MessageBinary
		}
		if err := s.ws.Write(context.Background(), typ, f.data); err != nil {
			s.conn.discard()
			return err
		}
		if s.conn.buffered() >= maxBatch {
			break
		}
	}
	return s.conn.flush(writeTimeout)
}

// queued takes the next queued frame, if there is one.
func (s *socket) queued() (frame, bool) {
	select {
	case f := <-s.out:
		return f, true
	default:
		return frame{}, false
	}
}

// send queues f for s without blocking; a socket that cannot take it is
// closed.
func (rg *registry) send(s *socket, f frame) {
	select {
	case s.out <- f:
	default:
		rg.log.Warn("comfyapi: closing a websocket that stopped reading", "sid", s.sid)
		s.cancel()
	}
}

// client returns the socket registered as (owner, sid), or nil.
func (rg *registry) client(owner, sid string) *socket {
	rg.mu.Lock()
	defer rg.mu.Unlock()
	return rg.byID[sockKey{owner, sid}]
}

// owned returns the registered sockets of owner.
func (rg *registry) owned(owner string) []*socket {
	rg.mu.Lock()
	defer rg.mu.Unlock()
	out := make([]*socket, 0, len(rg.byOwner[owner]))
	for s := range rg.byOwner[owner] {
		out = append(out, s)
	}
	return out
}

// hasOwner reports whether owner has any registered socket.
func (rg *registry) hasOwner(owner string) bool {
	rg.mu.Lock()
	defer rg.mu.Unlock()
	return len(rg.byOwner[owner]) > 0
}

// heldByOther reports whether a socket of another owner uses sid.
func (rg *registry) heldByOther(owner, sid string) bool {
	rg.mu.Lock()
	defer rg.mu.Unlock()
	for k := range rg.byID {
		if k.sid == sid && k.owner != owner {
			return true
		}
	}
	return false
}

// closeAll closes every socket and refuses new ones.
func (rg *registry) closeAll() {
	rg.mu.Lock()
	rg.closed = true
	all := make([]*socket, 0, len(rg.all))
	for s := range rg.all {
		all = append(all, s)
	}
	rg.mu.Unlock()
	for _, s := range all {
		s.cancel()
	}
}

// wait blocks until every writer has exited.
func (rg *registry) wait() { rg.wg.Wait() }
