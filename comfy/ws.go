package comfy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"

	"github.com/coder/websocket"
)

// DefaultReadLimit bounds one WebSocket frame. SaveImageWebsocket sends whole
// PNGs as preview frames, so it is far above the library's 32 KiB default.
const DefaultReadLimit = 64 << 20

// DialOptions configures Dial.
type DialOptions struct {
	// FeatureFlags, when non-nil, is sent as the first message (e.g.
	// {"supports_preview_metadata": true}). The server's reply, if any, is
	// recorded as it arrives; old servers never reply.
	FeatureFlags FeatureFlags
	// HTTPClient is used for the handshake (default http.DefaultClient).
	HTTPClient *http.Client
	// Header is added to the handshake request. Origin is always removed:
	// ComfyUI refuses loopback upgrades with a foreign Origin.
	Header http.Header
	// APIPrefix dials /api/ws instead of /ws.
	APIPrefix bool
	// ReadLimit bounds one frame (default DefaultReadLimit).
	ReadLimit int64
}

// Conn is one WebSocket connection to ComfyUI. Read must not be called
// concurrently with itself; the other methods are safe for concurrent use.
type Conn struct {
	ws       *websocket.Conn
	sid      string
	greeting StatusData
	pending  []Event // frames read before the greeting, returned first by Read

	mu          sync.Mutex // guards serverFlags
	serverFlags FeatureFlags
}

// Dial connects to baseURL's /ws with the given clientId ("" lets the server
// choose one) and reads the greeting status message, whose sid becomes
// Conn.SID. Never keep two connections with the same clientID open at once:
// ComfyUI then stops routing events to either (see Watcher).
func Dial(ctx context.Context, baseURL, clientID string, opts DialOptions) (*Conn, error) {
	u, err := wsURL(baseURL, clientID, opts.APIPrefix)
	if err != nil {
		return nil, err
	}
	hdr := opts.Header.Clone()
	if hdr != nil {
		hdr.Del("Origin")
	}
	ws, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: opts.HTTPClient, HTTPHeader: hdr})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("dial %s: status %d: %w", redact(u), resp.StatusCode, err)
		}
		return nil, fmt.Errorf("dial %s: %w", redact(u), err)
	}
	limit := opts.ReadLimit
	if limit <= 0 {
		limit = DefaultReadLimit
	}
	ws.SetReadLimit(limit)
	c := &Conn{ws: ws}
	if err := c.handshake(ctx, clientID, opts.FeatureFlags); err != nil {
		ws.CloseNow()
		return nil, err
	}
	return c, nil
}

func wsURL(baseURL, clientID string, apiPrefix bool) (string, error) {
	u, err := parseBaseURL(baseURL)
	if err != nil {
		return "", err
	}
	switch u.Scheme {
	case "http", "ws":
		u.Scheme = "ws"
	case "https", "wss":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("comfy base url: unsupported scheme %q", u.Scheme)
	}
	if apiPrefix {
		u.Path += "/api"
	}
	u.Path += "/ws"
	if clientID != "" {
		u.RawQuery = url.Values{"clientId": {clientID}}.Encode()
	}
	return u.String(), nil
}

// redact drops user info from a URL for error messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "websocket"
	}
	u.User = nil
	return u.String()
}

// handshake sends the feature flags (if any) and reads up to the greeting.
func (c *Conn) handshake(ctx context.Context, clientID string, flags FeatureFlags) error {
	if flags != nil {
		msg, err := EncodeMessage(flags)
		if err != nil {
			return err
		}
		if err := c.ws.Write(ctx, websocket.MessageText, msg); err != nil {
			return fmt.Errorf("send feature flags: %w", err)
		}
	}
	// The greeting is the first frame ComfyUI sends; anything before it (a
	// proxy's own message, say) is kept for Read rather than dropped.
	for range 16 {
		ev, err := c.readFrame(ctx)
		if err != nil {
			var me *MessageError
			if errors.As(err, &me) {
				continue
			}
			return fmt.Errorf("read greeting: %w", err)
		}
		if st, ok := ev.(StatusData); ok {
			c.greeting, c.sid = st, clientID
			if st.Sid != nil {
				c.sid = *st.Sid
			}
			return nil
		}
		c.pending = append(c.pending, ev)
	}
	return errors.New("read greeting: no status message among the first 16 frames")
}

// SID is the client id the server uses for this connection: the clientID
// given to Dial, or the id the server made up. Post prompts with it as
// client_id to receive their events.
func (c *Conn) SID() string { return c.sid }

// Greeting is the status message that opened the connection.
func (c *Conn) Greeting() StatusData { return c.greeting }

// ServerFeatures returns the server's feature flags once its reply to the
// negotiation has been read, else nil.
func (c *Conn) ServerFeatures() FeatureFlags {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.serverFlags
}

// Read returns the next event: a typed JSON message, a binary frame, or an
// UnknownEvent/UnknownBinary. A message that cannot be decoded is returned as a
// *MessageError (errors.Is ErrMalformed); the connection stays usable. Any
// other error means the connection is done. Cancelling ctx closes the
// connection (a property of the WebSocket library).
func (c *Conn) Read(ctx context.Context) (Event, error) {
	if len(c.pending) > 0 {
		ev := c.pending[0]
		c.pending = c.pending[1:]
		return ev, nil
	}
	return c.readFrame(ctx)
}

func (c *Conn) readFrame(ctx context.Context) (Event, error) {
	typ, data, err := c.ws.Read(ctx)
	if err != nil {
		return nil, fmt.Errorf("read websocket: %w", err)
	}
	if typ == websocket.MessageBinary {
		ev, err := DecodeBinaryFrame(data)
		if err != nil {
			return nil, &MessageError{Type: "binary", Raw: data, Err: err}
		}
		return ev, nil
	}
	ev, err := DecodeMessage(data)
	if err != nil {
		return nil, err
	}
	if ff, ok := ev.(FeatureFlags); ok {
		c.mu.Lock()
		c.serverFlags = ff
		c.mu.Unlock()
	}
	return ev, nil
}

// Ping sends a ping and waits for the pong. It needs a concurrent Read to
// receive the pong. ComfyUI never pings, so this is how a client notices a
// dead connection.
func (c *Conn) Ping(ctx context.Context) error { return c.ws.Ping(ctx) }

// Write sends an event (text or binary). ComfyUI ignores client messages
// other than the first feature_flags one.
func (c *Conn) Write(ctx context.Context, ev Event) error {
	f, err := EncodeFrame(ev)
	if err != nil {
		return err
	}
	typ := websocket.MessageText
	if f.Binary {
		typ = websocket.MessageBinary
	}
	return c.ws.Write(ctx, typ, f.Data)
}

// Close closes the connection with a close handshake and waits for it to
// finish, so the server has seen the close before Close returns.
func (c *Conn) Close() error {
	err := c.ws.Close(websocket.StatusNormalClosure, "")
	if err != nil && isClosedErr(err) {
		return nil
	}
	return err
}

// CloseNow closes the connection without a handshake.
func (c *Conn) CloseNow() error {
	err := c.ws.CloseNow()
	if err != nil && isClosedErr(err) {
		return nil
	}
	return err
}

// isClosedErr reports errors that only say the connection was already gone.
func isClosedErr(err error) bool {
	return errors.Is(err, net.ErrClosed) || websocket.CloseStatus(err) != -1
}
