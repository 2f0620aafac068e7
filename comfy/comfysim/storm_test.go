package comfysim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/coder/websocket"

	"github.com/comfygate/comfygate/comfy/comfysim"
)

// panicLog is a slog handler keeping the lines that report a recovered
// panic (net/http logs "http: panic serving ..." through the simulator's
// logger).
type panicLog struct {
	mu    sync.Mutex
	lines []string
}

func (p *panicLog) Enabled(context.Context, slog.Level) bool { return true }
func (p *panicLog) WithAttrs([]slog.Attr) slog.Handler       { return p }
func (p *panicLog) WithGroup(string) slog.Handler            { return p }
func (p *panicLog) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(strings.ToLower(r.Message), "panic") {
		p.mu.Lock()
		p.lines = append(p.lines, r.Message)
		p.mu.Unlock()
	}
	return nil
}

// stormRequest is one hostile request and the statuses ComfyUI's server
// (and so the simulator) may answer it with.
type stormRequest struct {
	kind, method, path string
	header             map[string]string
	body               []byte
	ok                 []int
}

var (
	okPrompt = []int{200, 400, 500} // queued, invalid, or an exception ComfyUI lets through
	okAny    = []int{200, 400, 403, 404, 405, 413, 500}
)

// hostileValues replace graph inputs: wrong types, bad links, huge and
// deep values.
func hostileValues() []any {
	deep := any("x")
	for range 200 {
		deep = []any{deep}
	}
	return []any{
		-1, -99, true, false, 1.5, nil, "x", []any{}, map[string]any{}, []any{"1"},
		[]any{"1", 0, 0}, []any{"999", 0}, []any{"1", -1}, []any{"1", -2}, []any{"1", true},
		[]any{"1", 1.5}, []any{"1", numLit("1e30")}, []any{"1", numLit("-99999999999999999999")},
		[]any{"4", 0}, []any{1, 0}, numLit("1e308"), numLit("-0"), numLit("123456789012345678901234567890"),
		strings.Repeat("y", 100<<10), deep,
	}
}

// mutate returns a copy of graph with one hostile change.
func mutate(r *rand.Rand, graph map[string]any) map[string]any {
	g := map[string]any{}
	for id, n := range graph {
		node := maps.Clone(n.(map[string]any))
		node["inputs"] = maps.Clone(node["inputs"].(map[string]any))
		g[id] = node
	}
	ids := slices.Sorted(maps.Keys(g))
	node := g[ids[r.IntN(len(ids))]].(map[string]any)
	inputs := node["inputs"].(map[string]any)
	values := hostileValues()
	switch r.IntN(6) {
	case 0, 1: // replace an input
		if names := slices.Sorted(maps.Keys(inputs)); len(names) > 0 {
			inputs[names[r.IntN(len(names))]] = values[r.IntN(len(values))]
		}
	case 2: // an undeclared input
		inputs["extra"] = values[r.IntN(len(values))]
	case 3: // a cycle through the first node
		first := g[ids[0]].(map[string]any)["inputs"].(map[string]any)
		first["loop"] = []any{ids[len(ids)-1], 0}
		first["image"] = []any{ids[len(ids)-1], 0}
	case 4: // another class
		classes := []any{"KSampler", "SaveImage", "Nope", 7, nil, []any{"x"}, "LoadImage", "VAEDecode"}
		node["class_type"] = classes[r.IntN(len(classes))]
	case 5: // inputs that are not an object
		node["inputs"] = values[r.IntN(len(values))]
	}
	return g
}

func promptRequests(t *testing.T, n int) []stormRequest {
	r := rand.New(rand.NewPCG(9, 9))
	bases := []map[string]any{workflow(t, "basic"), workflow(t, "text"), textToImage(64, 64, 1, 3, 5)}
	var out []stormRequest
	for range n {
		g := mutate(r, bases[r.IntN(len(bases))])
		body, err := json.Marshal(map[string]any{"prompt": g, "client_id": "storm"})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, stormRequest{kind: "mutated prompt", method: "POST", path: "/prompt", body: body, ok: okPrompt})
	}
	return out
}

// brokenBodies are sent to every route that reads a JSON body.
func brokenBodies() [][]byte {
	return [][]byte{
		nil, []byte("{"), []byte("}"), []byte(`{"prompt": `), []byte("\xff\xfe"), []byte(`"prompt"`),
		[]byte("null"), []byte("[]"), []byte(`{"prompt": {}}`), []byte(`{"delete": "` + strings.Repeat("x", 64<<10) + `"}`),
		[]byte(`{"delete": [` + strings.Repeat(`"a",`, 5000) + `"a"]}`), []byte(`{"number": 1e999999}`),
		[]byte(`{"clear": true, "delete": {}}`), []byte(`{"prompt_id": []}`), []byte(`{"a": NaN}`),
		bytes.Repeat([]byte("["), 1<<20), bytes.Repeat([]byte(`{"a":`), 200000),
		[]byte(`{"prompt": {"1": {"class_type": "EmptyImage", "inputs": {"width": 1e999}}}}`),
	}
}

func bodyRequests() []stormRequest {
	var out []stormRequest
	for _, path := range []string{"/prompt", "/queue", "/history", "/interrupt", "/free", "/api/jobs/cancel", "/sim/faults", "/api/prompt"} {
		for _, b := range brokenBodies() {
			out = append(out, stormRequest{kind: "broken JSON", method: "POST", path: path, body: b, ok: okAny})
		}
	}
	return out
}

func uploadRequests() []stormRequest {
	parts := []string{
		"--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"../../x.png\"\r\n\r\nx\r\n--b--\r\n",
		"--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n\r\nx", // truncated
		"--b\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\nnot a file\r\n--b--\r\n",
		"--b\r\nContent-Disposition: form-data; name=\"" + strings.Repeat("n", 10000) + "\"\r\n\r\nx\r\n--b--\r\n",
		"--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"m.png\"\r\n\r\n\x89PNG\r\n--b\r\nContent-Disposition: form-data; name=\"original_ref\"\r\n\r\n{\"filename\": \"../x\"}\r\n--b--\r\n",
		strings.Repeat("--b\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nv\r\n", 2000) + "--b--\r\n",
		"garbage",
	}
	var out []stormRequest
	for _, path := range []string{"/upload/image", "/upload/mask"} {
		for _, ct := range []string{"multipart/form-data; boundary=b", "multipart/form-data", "multipart/form-data; boundary=", "text/plain"} {
			for _, p := range parts {
				out = append(out, stormRequest{kind: "bad multipart", method: "POST", path: path,
					header: map[string]string{"Content-Type": ct}, body: []byte(p), ok: okAny})
			}
		}
	}
	return out
}

func viewRequests() []stormRequest {
	var out []stormRequest
	queries := []string{
		"filename=../../etc/passwd", "filename=%2e%2e%2fx", "filename=x&subfolder=../..", "filename=/etc/passwd",
		"filename=a.png&type=bogus", "filename=", "filename=a.png&preview=webp;99999999999999999999",
		"filename=a.png&preview=jpeg;-5&channel=zzz", "filename=a.png%00.png", "filename=a.png&subfolder=%00",
	}
	ranges := []string{"", "bytes=5-2", "bytes=-0", "bytes=abc", "bytes=0-0," + strings.Repeat("1-1,", 2000) + "2-2", "bytes=99999999999999999999-"}
	for _, q := range queries {
		for _, rg := range ranges {
			h := map[string]string{}
			if rg != "" {
				h["Range"] = rg
			}
			out = append(out, stormRequest{kind: "view", method: "GET", path: "/view?" + q, header: h, ok: okAny})
		}
	}
	for _, rg := range ranges[1:] {
		out = append(out, stormRequest{kind: "bad Range", method: "GET", path: "/view?filename=a.png&type=input",
			header: map[string]string{"Range": rg}, ok: []int{200, 206, 416}})
	}
	return out
}

func methodRequests() []stormRequest {
	var out []stormRequest
	for _, path := range []string{"/prompt", "/queue", "/history", "/view", "/upload/image", "/object_info", "/system_stats", "/ws", "/sim/faults", "/api/jobs", "/internal/logs"} {
		for _, m := range []string{"PUT", "DELETE", "PATCH", "TRACE", "BREW"} {
			out = append(out, stormRequest{kind: "wrong method", method: m, path: path, ok: []int{400, 404, 405}})
		}
		// ComfyUI's origin middleware answers every OPTIONS with an empty 200.
		out = append(out, stormRequest{kind: "wrong method", method: "OPTIONS", path: path, ok: []int{200}})
	}
	return out
}

func send(client *http.Client, base string, q stormRequest) (int, error) {
	req, err := http.NewRequest(q.method, base+q.path, bytes.NewReader(q.body))
	if err != nil {
		return 0, err
	}
	for k, v := range q.header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// rawRequests are malformed at the HTTP level: unsupported or broken
// transfer codings, and WebSocket upgrades gone wrong.
var rawRequests = []string{
	"POST /prompt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
	"POST /prompt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
	"POST /prompt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
	"POST /prompt HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
	"POST /prompt HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
	"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
	"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 99\r\nSec-WebSocket-Key: x\r\n\r\n",
	"GET /" + strings.Repeat("a", 100<<10) + " HTTP/1.1\r\nHost: x\r\n\r\n",
	"GARBAGE\r\n\r\n",
}

// TestStorm sends thousands of malformed and hostile requests over real
// sockets: broken and deep JSON, huge numbers, hostile and cyclic graphs,
// bad multipart, traversal, bad Range, wrong methods, broken transfer
// codings. Every answer is one ComfyUI gives such a request; nothing
// panics (in a handler or in the worker); the server keeps serving and a
// normal prompt succeeds afterwards.
func TestStorm(t *testing.T) {
	t.Parallel()
	logs := &panicLog{}
	s := start(t, comfysim.Options{Logger: slog.New(logs), MaxImagePixels: 1 << 16})
	putInput(t, s, "a.png", noisePNG(t, 16, 16))
	bugs := watchForBugs(t, s, "storm")
	reqs := slices.Concat(promptRequests(t, 1500), bodyRequests(), uploadRequests(), viewRequests(), methodRequests())
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	defer client.CloseIdleConnections()

	type outcome struct {
		kind   string
		status int
	}
	jobs := make(chan stormRequest)
	results := make(chan outcome, len(reqs))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for q := range jobs {
				st, err := send(client, s.URL(), q)
				if err != nil {
					t.Errorf("%s %s %.80q: %v", q.method, q.path, q.body, err)
				} else if !slices.Contains(q.ok, st) {
					t.Errorf("%s %s %.80q: status %d, want one of %v", q.method, q.path, q.body, st, q.ok)
				}
				results <- outcome{q.kind, st}
			}
		})
	}
	for _, q := range reqs {
		jobs <- q
	}
	close(jobs)
	wg.Wait()
	close(results)
	counts := map[string]map[int]int{"raw HTTP": {}}
	for o := range results {
		if counts[o.kind] == nil {
			counts[o.kind] = map[int]int{}
		}
		counts[o.kind][o.status]++
	}
	for _, raw := range rawRequests {
		c := rawConn(t, s)
		_, _ = io.WriteString(c, raw)
		line := statusLine(t, c)
		if !strings.HasPrefix(line, "HTTP/1.1 4") && !strings.HasPrefix(line, "HTTP/1.1 5") {
			t.Errorf("%.60q: answer %q", raw, line)
		}
		code := 0
		if len(line) >= 12 {
			code = int(line[9]-'0')*100 + int(line[10]-'0')*10 + int(line[11]-'0')
		}
		counts["raw HTTP"][code]++
	}
	t.Logf("%d requests: %v", len(reqs)+len(rawRequests), counts)

	// Every prompt the storm queued ran to an end, none into a simulator bug.
	waitFor(t, "the storm's prompts to run", func() bool {
		return string(get(t, s, "/prompt").body) == `{"exec_info": {"queue_remaining": 0}}`
	})
	if b := bugs(); len(b) > 0 {
		t.Errorf("%d storm prompts hit a simulator bug, e.g. %s", len(b), b[0])
	}
	logs.mu.Lock()
	if len(logs.lines) > 0 {
		t.Errorf("panics: %v", logs.lines)
	}
	logs.mu.Unlock()
	select {
	case <-s.Crashed():
		t.Fatal("the storm crashed the simulator")
	default:
	}
	postJSON(t, s, "/sim/faults", map[string]any{"crash_node": "", "fail_node": "", "hang": false})
	id := submit(t, s, workflow(t, "basic"), "")
	diff(t, "a normal prompt after the storm", "success", history(t, s, id)["status"].(map[string]any)["status_str"])
	st := s.Stats()
	t.Logf("prompts received %d, rejected %d, executed %d (succeeded %d, failed %d)",
		st.PromptsReceived, st.PromptsRejected, st.PromptsExecuted, st.PromptsSucceeded, st.PromptsFailed)
}

// statusLine reads the first line of the server's answer ("" when it
// closed the connection without one).
func statusLine(t *testing.T, c net.Conn) string {
	t.Helper()
	var line []byte
	buf := make([]byte, 1)
	for !bytes.HasSuffix(line, []byte("\r\n")) {
		if _, err := c.Read(buf); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("no answer (got %q)", line)
			}
			break
		}
		line = append(line, buf[0])
	}
	return strings.TrimSpace(string(line))
}

// watchForBugs reads every event sent to client id and returns a function
// listing the execution_error messages that report a simulator bug.
func watchForBugs(t *testing.T, s *comfysim.Server, id string) func() []string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.URL(), "http")+"/ws?clientId="+id, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(64 << 20)
	var mu sync.Mutex
	var bugs []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			_, data, err := c.Read(ctx)
			if err != nil {
				return
			}
			if bytes.Contains(data, []byte("comfysim: internal error")) {
				mu.Lock()
				bugs = append(bugs, string(data))
				mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		_ = c.CloseNow()
		<-done
	})
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(bugs)
	}
}
