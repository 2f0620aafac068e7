package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"github.com/comfygate/comfygate/api"
)

func (s *Server) jobEventsWS(w http.ResponseWriter, r *http.Request) error {
	return s.serveJobStream(w, r, s.serveWS)
}

func (s *Server) ownerEventsWS(w http.ResponseWriter, r *http.Request) error {
	return s.serveOwnerStream(w, r, s.serveWS)
}

// serveWS is serveSSE over WebSocket: each event is one JSON text message
// of api.Event. The server only writes; CloseRead consumes the client's
// control frames and notices when it goes. A normal close follows the
// terminal event; pings keep idle connections and proxies alive.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request, st Stream, endOnTerminal bool) error {
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: s.cfg.WSOriginPatterns})
	if err != nil {
		return fmt.Errorf("accept websocket: %w", err) // Accept has answered the client
	}
	defer c.CloseNow()
	s.metrics.streams.WithLabelValues("ws").Inc()
	defer s.metrics.streams.WithLabelValues("ws").Dec()
	ctx := c.CloseRead(r.Context())
	end, err := s.pumpStream(ctx, r, st, wsWriter{c: c, timeout: s.cfg.StreamWriteTimeout}, endOnTerminal)
	switch end {
	case endStream:
		return s.closeWS(c, err)
	case endTerminal:
		closeQuietly(c, websocket.StatusNormalClosure, "job finished")
	case endDrain:
		closeQuietly(c, websocket.StatusGoingAway, "server shutting down; resume with last_event_id")
	}
	return err
}

// wsWriter bounds each write and ping, so one stuck client is dropped.
type wsWriter struct {
	c       *websocket.Conn
	timeout time.Duration
}

func (o wsWriter) event(ctx context.Context, ev api.Event) error {
	data, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encode event %s: %w", ev.ID, err)
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	return o.c.Write(ctx, websocket.MessageText, data)
}

// flush has nothing to do: each event went out as a message of its own.
func (o wsWriter) flush(context.Context) error { return nil }

// keepalive pings, which keeps idle connections and proxies alive.
func (o wsWriter) keepalive(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	return o.c.Ping(ctx)
}

// closeWS ends a connection whose stream ended: normally, or with an
// internal-error close code whose reason stays generic (the detail is
// logged by the caller's error path).
func (s *Server) closeWS(c *websocket.Conn, streamErr error) error {
	if streamErr == nil {
		closeQuietly(c, websocket.StatusNormalClosure, "stream ended")
		return nil
	}
	closeQuietly(c, websocket.StatusInternalError, "event stream failed; resume with last_event_id")
	return streamErr
}

// closeQuietly runs the close handshake; a peer that is already gone is
// not worth a log line.
func closeQuietly(c *websocket.Conn, code websocket.StatusCode, reason string) {
	_ = c.Close(code, reason)
}
