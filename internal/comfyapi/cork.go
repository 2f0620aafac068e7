package comfyapi

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"
)

// corkConn is a downstream socket's connection with a cork: while corked,
// what the WebSocket library writes (it flushes once per message) is
// gathered, and flush sends it with one write. The writer corks it while it
// drains the messages queued for the socket, so a burst of messages (a
// status broadcast, a node's executing and executed, a run's end) costs one
// system call instead of one each. The frames on the wire are the same.
type corkConn struct {
	net.Conn

	mu       sync.Mutex // guards the fields below
	corked   bool
	buf      []byte
	flushing bool // a flush is writing to the network
	stopped  bool // the socket is being closed: flushes are cut short
}

// errStopped is a flush refused because the socket is being closed.
var errStopped = errors.New("socket closing")

// maxCorkBuf is the largest buffer a corkConn keeps between flushes: a
// batch of the usual small messages reuses it, a larger one (with big
// previews) is let go, so that thousands of idle sockets hold little.
const maxCorkBuf = 16 << 10

// Write gathers p while corked, else writes it through. Writes through
// (the library's pongs and close frames, between batches) keep their order
// with batches: a batch is on the network before the cork comes off.
func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	if c.corked {
		c.buf = append(c.buf, p...)
		c.mu.Unlock()
		return len(p), nil
	}
	c.mu.Unlock()
	return c.Conn.Write(p)
}

// cork starts gathering writes.
func (c *corkConn) cork() {
	c.mu.Lock()
	c.corked = true
	c.mu.Unlock()
}

// buffered is how many bytes wait for the next flush.
func (c *corkConn) buffered() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.buf)
}

// flush writes what was gathered, each write bounded by timeout, and
// uncorks. Writes that come in while it is on the network (a pong from the
// reader) go out after it, before the cork comes off.
func (c *corkConn) flush(timeout time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	defer func() { c.corked = false }()
	for len(c.buf) > 0 {
		if c.stopped {
			return errStopped
		}
		// The deadline is set under the lock: a stop, which sets one in
		// the past, must not come between it and the write and be undone.
		if err := c.Conn.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
			return err
		}
		buf := c.buf
		c.buf, c.flushing = nil, true
		c.mu.Unlock()
		_, err := c.Conn.Write(buf)
		c.mu.Lock()
		c.flushing = false
		if !c.stopped { // else the past deadline stays: later writes fail fast
			if derr := c.Conn.SetWriteDeadline(time.Time{}); err == nil {
				err = derr
			}
		}
		if len(c.buf) == 0 && cap(buf) <= maxCorkBuf {
			c.buf = buf[:0]
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// discard drops what was gathered and uncorks: the socket failed.
func (c *corkConn) discard() {
	c.mu.Lock()
	c.corked, c.buf = false, c.buf[:0]
	c.mu.Unlock()
}

// stop cuts short a flush on the network and refuses later ones: the
// socket is closing, and a client that stopped reading must not hold up
// its close for the whole write timeout.
func (c *corkConn) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	if c.flushing {
		_ = c.Conn.SetWriteDeadline(time.Unix(1, 0))
	}
}

// corkingWriter hands the WebSocket library a corkConn when it hijacks the
// connection.
type corkingWriter struct {
	http.ResponseWriter
	conn *corkConn
}

// Hijack hijacks the connection underneath and points the buffered writer
// the library writes through at the corkConn (net/http hands it over
// empty).
func (w *corkingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if err := brw.Writer.Flush(); err != nil {
		nc.Close()
		return nil, nil, err
	}
	w.conn = &corkConn{Conn: nc}
	brw.Writer.Reset(w.conn)
	return w.conn, brw, nil
}

// Unwrap lets http.ResponseController reach the writer underneath.
func (w *corkingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
