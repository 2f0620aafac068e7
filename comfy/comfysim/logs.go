package comfysim

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/comfy/comfyjson"
	"github.com/comfygate/comfygate/internal/comfywire"
)

// logCapacity is app.logger's deque size.
const logCapacity = 300

// logBuffer keeps the last log lines for GET /internal/logs, as ComfyUI's
// stdout interceptor does, and the sockets subscribed to new lines.
type logBuffer struct {
	now func() time.Time

	mu      sync.Mutex // guards the fields below
	entries []comfy.LogEntry
	subs    map[string]bool
	sent    map[string]bool // subscribers that already got the terminal size
}

func newLogBuffer(now func() time.Time) *logBuffer {
	return &logBuffer{now: now, subs: map[string]bool{}, sent: map[string]bool{}}
}

// pyISOTime is datetime.isoformat(): microseconds, left out when zero.
func pyISOTime(t time.Time) string {
	if t.Nanosecond()/1000 == 0 {
		return t.Format("2006-01-02T15:04:05")
	}
	return t.Format("2006-01-02T15:04:05.000000")
}

func (b *logBuffer) add(msg string) (comfy.LogEntry, []string) {
	e := comfy.LogEntry{T: pyISOTime(b.now()), M: msg}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.entries = append(b.entries, e)
	if len(b.entries) > logCapacity {
		b.entries = b.entries[len(b.entries)-logCapacity:]
	}
	subs := make([]string, 0, len(b.subs))
	for sid := range b.subs {
		subs = append(subs, sid)
	}
	return e, subs
}

func (b *logBuffer) all() []comfy.LogEntry {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]comfy.LogEntry{}, b.entries...)
}

// logf logs a line to the Logger, the buffer and subscribed sockets.
func (s *Server) logf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.opts.Logger.Info(strings.TrimSuffix(msg, "\n"))
	e, subs := s.logs.add(msg)
	for _, sid := range subs {
		to := sid
		s.hub.Send(&to, encodeEvent(comfy.Logs{Entries: []comfy.LogEntry{e}, Size: s.logs.sizeOnce(sid)}))
	}
}

// sizeOnce returns the terminal size for a subscriber's first message and
// nil afterwards ("size is null when it did not change").
func (b *logBuffer) sizeOnce(sid string) *comfy.TerminalSize {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.sent[sid] {
		return nil
	}
	b.sent[sid] = true
	return &comfy.TerminalSize{Cols: 80, Rows: 24}
}

func (s *Server) handleLogs(w http.ResponseWriter, _ *http.Request, _ map[string]string) {
	var b strings.Builder
	for _, e := range s.logs.all() {
		b.WriteString(e.T + " - " + e.M)
	}
	writeJSON(w, http.StatusOK, b.String())
}

func (s *Server) handleLogsRaw(w http.ResponseWriter, _ *http.Request, _ map[string]string) {
	writeJSON(w, http.StatusOK, comfy.Logs{Entries: s.logs.all(), Size: &comfy.TerminalSize{Cols: 80, Rows: 24}})
}

// handleLogsSubscribe is PATCH /internal/logs/subscribe {"clientId",
// "enabled"}; a missing key is a KeyError (500).
func (s *Server) handleLogsSubscribe(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	v, ok := s.readJSON(w, r)
	if !ok {
		return
	}
	id, hasID, err := comfyjson.DictGet(v, "clientId")
	enabled, hasEnabled, _ := comfyjson.DictGet(v, "enabled")
	if err != nil || !hasID || !hasEnabled {
		internalError(w)
		return
	}
	sid, _ := id.(string)
	s.logs.mu.Lock()
	if comfyjson.Truthy(enabled) {
		s.logs.subs[sid] = true
	} else {
		delete(s.logs.subs, sid)
		delete(s.logs.sent, sid)
	}
	s.logs.mu.Unlock()
	comfywire.WriteEmpty(w, http.StatusOK)
}
