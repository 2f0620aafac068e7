package comfysim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/comfygate/comfygate/comfy/comfysim"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// waitTimeout bounds every wait for the simulator; it is only reached when
// something is broken.
const waitTimeout = 20 * time.Second

func start(t *testing.T, opts comfysim.Options) *comfysim.Server {
	t.Helper()
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	return comfysim.Start(t, opts)
}

// frame is one received WebSocket message.
type frame struct {
	binary bool
	data   []byte
}

func (f frame) typ() string {
	if f.binary {
		return "binary"
	}
	var m struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(f.data, &m)
	return m.Type
}

// socket is a test client reading every frame into a channel.
type socket struct {
	t      *testing.T
	c      *websocket.Conn
	frames chan frame
	done   chan struct{} // closed when the read loop ends
	err    error         // why it ended; set before done is closed
}

func dial(t *testing.T, s *comfysim.Server, clientID string) *socket {
	t.Helper()
	url := "ws" + strings.TrimPrefix(s.URL(), "http") + "/ws"
	if clientID != "" {
		url += "?clientId=" + clientID
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	c.SetReadLimit(64 << 20)
	ws := &socket{t: t, c: c, frames: make(chan frame, 10000), done: make(chan struct{})}
	go ws.readLoop()
	t.Cleanup(func() {
		_ = c.CloseNow()
		<-ws.done
	})
	return ws
}

func (ws *socket) readLoop() {
	for {
		typ, data, err := ws.c.Read(context.Background())
		if err != nil {
			ws.err = err
			close(ws.frames)
			close(ws.done)
			return
		}
		ws.frames <- frame{binary: typ == websocket.MessageBinary, data: data}
	}
}

// next returns the next frame; ok is false when the socket closed.
func (ws *socket) next() (frame, bool) {
	ws.t.Helper()
	select {
	case f, ok := <-ws.frames:
		return f, ok
	case <-time.After(waitTimeout):
		ws.t.Fatalf("no WebSocket frame within %v", waitTimeout)
		return frame{}, false
	}
}

func (ws *socket) mustNext() frame {
	ws.t.Helper()
	f, ok := ws.next()
	if !ok {
		ws.t.Fatal("socket closed")
	}
	return f
}

func (ws *socket) send(v any) {
	ws.t.Helper()
	data, _ := json.Marshal(v)
	if err := ws.c.Write(context.Background(), websocket.MessageText, data); err != nil {
		ws.t.Fatalf("send: %v", err)
	}
}

// until reads frames up to and including the first one for which stop is
// true.
func (ws *socket) until(stop func(frame) bool) []frame {
	ws.t.Helper()
	var out []frame
	for {
		f := ws.mustNext()
		out = append(out, f)
		if stop(f) {
			return out
		}
	}
}

// untilDone reads up to the final "executing" (node null) of promptID.
func (ws *socket) untilDone(promptID string) []frame {
	ws.t.Helper()
	return ws.until(func(f frame) bool { return isDone(f, promptID) })
}

func isDone(f frame, promptID string) bool {
	if f.typ() != "executing" {
		return false
	}
	var m struct {
		Data map[string]any `json:"data"`
	}
	_ = json.Unmarshal(f.data, &m)
	node, has := m.Data["node"]
	return has && node == nil && m.Data["prompt_id"] == promptID
}

// closed waits for the socket to be closed by the server and returns the
// frames that arrived first.
func (ws *socket) closed() ([]frame, error) {
	ws.t.Helper()
	var out []frame
	for {
		f, ok := ws.next()
		if !ok {
			<-ws.done
			return out, ws.err
		}
		out = append(out, f)
	}
}

func types(frames []frame) []string {
	out := make([]string, len(frames))
	for i, f := range frames {
		out[i] = f.typ()
	}
	return out
}

type httpResult struct {
	status int
	header http.Header
	body   []byte
}

func (r httpResult) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

func do(t *testing.T, method, url string, body io.Reader, header ...string) httpResult {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if strings.EqualFold(header[i], "Host") {
			req.Host = header[i+1]
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return httpResult{status: resp.StatusCode, header: resp.Header, body: data}
}

func get(t *testing.T, s *comfysim.Server, path string) httpResult {
	t.Helper()
	return do(t, http.MethodGet, s.URL()+path, nil)
}

func postJSON(t *testing.T, s *comfysim.Server, path string, v any) httpResult {
	t.Helper()
	var body []byte
	switch x := v.(type) {
	case string:
		body = []byte(x)
	case []byte:
		body = x
	default:
		body, _ = json.Marshal(v)
	}
	return do(t, http.MethodPost, s.URL()+path, bytes.NewReader(body), "Content-Type", "application/json")
}

// submit posts a prompt and returns its id, failing unless it was queued.
func submit(t *testing.T, s *comfysim.Server, prompt any, clientID string, extra ...any) string {
	t.Helper()
	body := map[string]any{"prompt": prompt}
	if clientID != "" {
		body["client_id"] = clientID
	}
	for i := 0; i+1 < len(extra); i += 2 {
		body[extra[i].(string)] = extra[i+1]
	}
	r := postJSON(t, s, "/prompt", body)
	if r.status != http.StatusOK {
		t.Fatalf("POST /prompt: %d %s", r.status, r.body)
	}
	return r.json(t)["prompt_id"].(string)
}

func workflow(t *testing.T, name string) map[string]any {
	t.Helper()
	data, err := os.ReadFile("testdata/wf-" + name + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// waitFor polls cond until it holds or waitTimeout passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// history returns GET /history/{id}, waiting until it is non-empty.
func history(t *testing.T, s *comfysim.Server, id string) map[string]any {
	t.Helper()
	var entry map[string]any
	waitFor(t, "history of "+id, func() bool {
		m := get(t, s, "/history/"+id).json(t)
		e, ok := m[id].(map[string]any)
		entry = e
		return ok
	})
	return entry
}

func diff(t *testing.T, what string, want, got any) {
	t.Helper()
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("%s (-want +got):\n%s", what, d)
	}
}
