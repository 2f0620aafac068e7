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
	st, err := s.subscribeJob(r)
	if err != nil {
		return err
	}
	defer st.Close()
	return s.serveWS(w, r, st, true)
}

func (s *Server) ownerEventsWS(w http.ResponseWriter, r *http.Request) error {
	st, err := s.svc.SubscribeOwner(r.Context(), ownerOf(r))
	if err != nil {
		return err
	}
	defer st.Close()
	return s.serveWS(w, r, st, false)
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
	tick := time.NewTicker(s.cfg.Keepalive)
	defer tick.Stop()
	for {
		select {
		case ev, ok := <-st.Events():
			if !ok {
				return s.closeWS(c, st.Err())
			}
			if err := s.writeWS(ctx, c, ev); err != nil {
				return streamWriteErr(r, err)
			}
			if endOnTerminal && api.TerminalEvent(ev.Type) {
				closeQuietly(c, websocket.StatusNormalClosure, "job finished")
				return nil
			}
		case <-tick.C:
			if err := s.pingWS(ctx, c); err != nil {
				return streamWriteErr(r, err)
			}
		case <-ctx.Done():
			return nil
		case <-s.drained:
			closeQuietly(c, websocket.StatusGoingAway, "server shutting down; resume with last_event_id")
			return nil
		}
	}
}

func (s *Server) writeWS(ctx context.Context, c *websocket.Conn, ev api.Event) error {
	data, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encode event %s: %w", ev.ID, err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.StreamWriteTimeout)
	defer cancel()
	return c.Write(ctx, websocket.MessageText, data)
}

func (s *Server) pingWS(ctx context.Context, c *websocket.Conn) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.StreamWriteTimeout)
	defer cancel()
	return c.Ping(ctx)
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
