package comfysim_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/comfygate/comfygate/comfy/comfysim"
)

var numberField = regexp.MustCompile(`"number": (-?[0-9.e+]+)`)

func numberOf(t *testing.T, r httpResult) string {
	t.Helper()
	m := numberField.FindSubmatch(r.body)
	if m == nil {
		t.Fatalf("no number in %s", r.body)
	}
	return string(m[1])
}

// The counter advances for every POST /prompt whose body parses, rejected
// ones included; a client number comes back as a float; front negates.
func TestNumberSemantics(t *testing.T) {
	s := start(t, comfysim.Options{})
	s.SetHang(true) // keep everything queued; only the numbers matter
	t.Cleanup(func() { s.SetHang(false) })
	text := workflow(t, "text")
	steps := []struct {
		name   string
		body   any
		status int
		number string
	}{
		{"first front is -0", map[string]any{"prompt": text, "front": true}, 200, "0"},
		{"counter", map[string]any{"prompt": text}, 200, "1"},
		{"rejected, still counts", map[string]any{"prompt": map[string]any{"1": map[string]any{"class_type": "NoSuchNode", "inputs": map[string]any{}}}}, 400, ""},
		{"malformed JSON does not count", `{"prompt": {`, 500, ""},
		{"array body counts", `[1, 2]`, 400, ""},
		{"after the gap", map[string]any{"prompt": text}, 200, "4"},
		{"client number is a float", map[string]any{"prompt": text, "number": 7.5}, 200, "7.5"},
		{"integral client number", map[string]any{"prompt": text, "number": 3}, 200, "3.0"},
		{"number does not advance", map[string]any{"prompt": text}, 200, "5"},
		{"front", map[string]any{"prompt": text, "front": true}, 200, "-6"},
		{"number as a string", map[string]any{"prompt": text, "number": "2.5"}, 200, "2.5"},
		{"bad number is a 500", map[string]any{"prompt": text, "number": "abc"}, 500, ""},
		{"bad number did not advance", map[string]any{"prompt": text}, 200, "7"},
	}
	for _, st := range steps {
		r := postJSON(t, s, "/prompt", st.body)
		if r.status != st.status {
			t.Fatalf("%s: status %d, want %d: %s", st.name, r.status, st.status, r.body)
		}
		if st.number != "" {
			diff(t, st.name, st.number, numberOf(t, r))
		}
	}
}

// GET /queue shows the raw heap; prompts run smallest number first, ties
// by prompt id.
func TestQueueHeapOrder(t *testing.T) {
	s := start(t, comfysim.Options{})
	s.SetHang(true)
	text := workflow(t, "text")
	ids := map[string]string{}
	for _, p := range []struct {
		name  string
		extra []any
	}{{"S", nil}, {"A", nil}, {"B", []any{"number", 7.5}}, {"C", []any{"front", true}}} {
		ids[submit(t, s, text, "", append([]any{"prompt_id", p.name}, p.extra...)...)] = p.name
	}
	var q struct {
		Running []json.RawMessage `json:"queue_running"`
		Pending [][]any           `json:"queue_pending"`
	}
	if err := json.Unmarshal(get(t, s, "/queue").body, &q); err != nil {
		t.Fatal(err)
	}
	var heap []any
	for _, it := range q.Pending {
		heap = append(heap, it[0])
	}
	// heapq after pushing 0, 1, 7.5, -2 (front negates the counter, which
	// B's explicit number did not advance).
	diff(t, "pending (heap order)", []any{-2.0, 0.0, 7.5, 1.0}, heap)
	diff(t, "queue_remaining", `{"exec_info": {"queue_remaining": 4}}`, string(get(t, s, "/prompt").body))

	s.SetHang(false)
	waitFor(t, "all four in history", func() bool { return len(get(t, s, "/history").json(t)) == 4 })
	var order []string
	for _, k := range historyKeys(t, get(t, s, "/history").body) {
		order = append(order, ids[k])
	}
	diff(t, "run order", []string{"C", "S", "A", "B"}, order)
}

// historyKeys returns the ids of a GET /history body in order.
func historyKeys(t *testing.T, body []byte) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(body)))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// A prompt deleted while pending gets only a status broadcast: no events,
// no history.
func TestDeletedWhilePending(t *testing.T) {
	s := start(t, comfysim.Options{})
	ws := dial(t, s, "del")
	ws.mustNext()
	s.SetHang(true)
	a := submit(t, s, workflow(t, "text"), "del")
	b := submit(t, s, workflow(t, "basic"), "del")
	if r := postJSON(t, s, "/queue", map[string]any{"delete": []string{b}}); r.status != http.StatusOK || len(r.body) != 0 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	s.SetHang(false)
	frames := ws.untilDone(a)
	got := types(frames)
	diff(t, "first frames", []string{"status", "status", "status", "status", "execution_start"}, got[:5])
	for _, f := range frames {
		if strings.Contains(string(f.data), b) {
			t.Errorf("event about the deleted prompt: %s", f.data)
		}
	}
	diff(t, "history of deleted prompt", "{}", string(get(t, s, "/history/"+b).body))
}

func TestTargetedInterrupt(t *testing.T) {
	s := start(t, comfysim.Options{ClassDelays: map[string]time.Duration{"ImageBlur": time.Hour}})
	ws := dial(t, s, "intr")
	ws.mustNext()
	untilNode2 := func(f frame) bool {
		return f.typ() == "executing" && strings.Contains(string(f.data), `"node": "2"`)
	}

	small := func(color int) map[string]any {
		p := workflow(t, "slow-chain")
		in := p["1"].(map[string]any)["inputs"].(map[string]any)
		in["width"], in["height"], in["color"] = 40, 40, color
		return p
	}
	// An interrupt for another prompt id is ignored: once the delay is
	// lifted, the run succeeds.
	id := submit(t, s, small(0), "intr")
	ws.until(untilNode2)
	postJSON(t, s, "/interrupt", map[string]any{"prompt_id": "not-running"})
	s.SetClassDelay("ImageBlur", 0)
	frames := types(ws.untilDone(id))
	diff(t, "outcome", "execution_success", frames[len(frames)-3])

	// An interrupt for the running prompt lands at the next node.
	s.SetClassDelay("ImageBlur", time.Hour)
	id = submit(t, s, small(1), "intr") // another color: not cached
	ws.until(untilNode2)
	postJSON(t, s, "/interrupt", map[string]any{"prompt_id": id})
	frames = types(ws.untilDone(id))
	diff(t, "outcome", []string{"progress_state", "executing", "execution_interrupted", "status", "executing"}, frames[len(frames)-5:])
	diff(t, "stats", int64(1), s.Stats().PromptsInterrupted)
}

func TestFailNode(t *testing.T) {
	s := start(t, comfysim.Options{FailNode: "ImageInvert"})
	ws := dial(t, s, "fail")
	ws.mustNext()
	id := submit(t, s, workflow(t, "basic"), "fail")
	var errMsg message
	for _, f := range ws.untilDone(id) {
		if m := decode(t, f); m.Type == "execution_error" {
			errMsg = m
		}
	}
	diff(t, "node_type", "ImageInvert", errMsg.Data["node_type"])
	diff(t, "exception_type", "RuntimeError", errMsg.Data["exception_type"])
	diff(t, "executed", []any{"1"}, errMsg.Data["executed"])
	diff(t, "current_outputs", []any{"1", "2", "3", "4"}, errMsg.Data["current_outputs"])

	// Turned off at run time, through the HTTP control route.
	if r := postJSON(t, s, "/sim/faults", map[string]any{"fail_node": ""}); r.status != http.StatusOK {
		t.Fatalf("faults: %d %s", r.status, r.body)
	}
	id = submit(t, s, workflow(t, "basic"), "fail")
	frames := types(ws.untilDone(id))
	diff(t, "outcome", "execution_success", frames[len(frames)-3])
	st := s.Stats()
	diff(t, "failed/succeeded", [2]int64{1, 1}, [2]int64{st.PromptsFailed, st.PromptsSucceeded})
}

// While hung the worker makes no progress and sockets stay silent; closing
// all sockets then reaches clients at once; un-hanging finishes the work.
func TestHangAndCloseSockets(t *testing.T) {
	s := start(t, comfysim.Options{})
	ws := dial(t, s, "hang")
	ws.mustNext()
	s.SetHang(true)
	id := submit(t, s, workflow(t, "basic"), "hang")
	diff(t, "queue while hung", `{"exec_info": {"queue_remaining": 1}}`, string(get(t, s, "/prompt").body))
	s.CloseAllSockets()
	frames, err := ws.closed()
	if len(frames) != 0 {
		t.Errorf("a hung server sent %v", types(frames))
	}
	if websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Errorf("close error %v, want status 1001 (going away)", err)
	}
	if r := postJSON(t, s, "/sim/faults", map[string]any{"hang": false}); r.status != http.StatusOK {
		t.Fatalf("faults: %d %s", r.status, r.body)
	}
	history(t, s, id)
}

// The step delay slows samplers down; progress events still arrive one per
// step.
func TestStepDelay(t *testing.T) {
	s := start(t, comfysim.Options{})
	if r := postJSON(t, s, "/sim/faults", map[string]any{"step_delay": "2ms"}); r.status != http.StatusOK {
		t.Fatalf("faults: %d %s", r.status, r.body)
	}
	diff(t, "faults", comfysim.Duration(2*time.Millisecond), s.Faults().StepDelay)
	ws := dial(t, s, "steps")
	ws.mustNext()
	id := submit(t, s, textToImage(64, 64, 1, 5, 1), "steps")
	n := 0
	for _, f := range ws.untilDone(id) {
		if f.typ() == "progress" {
			n++
		}
	}
	diff(t, "progress events", 5, n)
}

func TestStatsCountReusedPromptIDs(t *testing.T) {
	s := start(t, comfysim.Options{})
	id := "11111111-2222-4333-8444-555555555555"
	submit(t, s, workflow(t, "text"), "", "prompt_id", id)
	history(t, s, id)
	postJSON(t, s, "/history", map[string]any{"clear": true})
	submit(t, s, workflow(t, "text"), "", "prompt_id", id)
	history(t, s, id)
	postJSON(t, s, "/prompt", map[string]any{"nope": 1})
	var st comfysim.Stats
	if err := json.Unmarshal(get(t, s, "/sim/stats").body, &st); err != nil {
		t.Fatal(err)
	}
	diff(t, "executions", map[string]int{id: 2}, st.ExecutionsByPromptID)
	diff(t, "received/rejected/executed", [3]int64{3, 1, 2}, [3]int64{st.PromptsReceived, st.PromptsRejected, st.PromptsExecuted})
}

func TestPartialCacheAndFree(t *testing.T) {
	s := start(t, comfysim.Options{})
	ws := dial(t, s, "cache")
	ws.mustNext()
	run := func(p map[string]any) (cached any, executing []string) {
		id := submit(t, s, p, "cache")
		for _, f := range ws.untilDone(id) {
			m := decode(t, f)
			switch m.Type {
			case "execution_cached":
				cached = m.Data["nodes"]
			case "executing":
				if n, ok := m.Data["node"].(string); ok {
					executing = append(executing, n)
				}
			}
		}
		return cached, executing
	}
	run(workflow(t, "basic"))
	p := workflow(t, "basic")
	p["3"].(map[string]any)["inputs"].(map[string]any)["width"] = 50
	cached, executing := run(p)
	diff(t, "partially cached", []any{"1", "2"}, cached)
	diff(t, "executed", []string{"3", "4"}, executing)

	postJSON(t, s, "/free", map[string]any{"free_memory": true})
	cached, executing = run(p)
	diff(t, "after free_memory", []any{}, cached)
	diff(t, "executed", []string{"1", "2", "3", "4"}, executing)
}

// A crash drops every connection without a close frame and stops serving.
func TestCrash(t *testing.T) {
	s := start(t, comfysim.Options{})
	ws := dial(t, s, "crash")
	ws.mustNext()
	if r := postJSON(t, s, "/sim/faults", map[string]any{"crash": true}); r.status != http.StatusOK {
		t.Fatalf("faults: %d %s", r.status, r.body)
	}
	_, err := ws.closed()
	if st := websocket.CloseStatus(err); st != -1 {
		t.Errorf("close status %d, want an abrupt close (-1)", st)
	}
	<-s.Crashed()
	waitFor(t, "the listener to be gone", func() bool {
		_, err := http.Get(s.URL() + "/queue")
		return err != nil
	})
}

// A socket reconnecting with the running prompt's client id gets the
// "executing" re-sync (no prompt_id); without a client id, an interrupt is
// broadcast.
func TestReconnectResyncAndBroadcastInterrupt(t *testing.T) {
	s := start(t, comfysim.Options{ClassDelays: map[string]time.Duration{"ImageBlur": time.Hour}})
	ws := dial(t, s, "re")
	ws.mustNext()
	p := workflow(t, "slow-chain")
	in := p["1"].(map[string]any)["inputs"].(map[string]any)
	in["width"], in["height"] = 40, 40
	id := submit(t, s, p, "re")
	ws.until(func(f frame) bool { return f.typ() == "executing" && strings.Contains(string(f.data), `"node": "2"`) })
	again := dial(t, s, "re")
	diff(t, "greeting", "status", again.mustNext().typ())
	diff(t, "re-sync", `{"type": "executing", "data": {"node": "2"}}`, string(again.mustNext().data))
	postJSON(t, s, "/interrupt", "")
	got := types(again.untilDone(id))
	diff(t, "new socket gets the rest", "execution_interrupted", got[len(got)-3])

	observer := dial(t, s, "observer")
	observer.mustNext()
	in["color"] = 99
	submit(t, s, p, "")
	observer.until(func(f frame) bool {
		return f.typ() == "progress_state" && strings.Contains(string(f.data), `"2": {"value": 0.0, "max": 1.0, "state": "running"`)
	})
	postJSON(t, s, "/interrupt", "")
	// Node 2 finishes, node 3 starts and is interrupted, as in capture 09.
	want := []string{"progress_state", "progress_state", "execution_interrupted", "status"}
	diff(t, "broadcast", want, types(observer.until(func(f frame) bool { return f.typ() == "status" })))
}
