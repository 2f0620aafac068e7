package server

import (
	"bytes"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/comfygate/comfygate/internal/httpapi"
)

// logBuffer collects a server's log; the server logs from several
// goroutines.
type logBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestWarnsWhenExposedWithoutKeys: listening beyond loopback with
// authentication off is logged as a warning at start, and only then. The
// exposed cases listen on every interface for the moment the test runs;
// no request is sent.
func TestWarnsWhenExposedWithoutKeys(t *testing.T) {
	key, err := ParseAPIKey("ops:0123456789abcdef-key")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		listen string
		keys   []httpapi.APIKey
		warn   bool
	}{
		{"every interface, no keys", "0.0.0.0:0", nil, true},
		{"every interface, with keys", "0.0.0.0:0", []httpapi.APIKey{key}, false},
		{"loopback, no keys", "127.0.0.1:0", nil, false},
		{"IPv6 loopback, no keys", "[::1]:0", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if strings.HasPrefix(tc.listen, "[::1]") {
				ln, err := net.Listen("tcp", tc.listen)
				if err != nil {
					t.Skipf("no IPv6 loopback: %v", err)
				}
				ln.Close()
			}
			var logs logBuffer
			log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
			startServer(t, Config{Listen: tc.listen, APIKeys: tc.keys, Logger: log})
			got := strings.Contains(logs.String(), "level=WARN msg=\""+exposedWarning+"\"")
			if got != tc.warn {
				t.Errorf("warned %v, want %v; log:\n%s", got, tc.warn, logs.String())
			}
		})
	}
}
