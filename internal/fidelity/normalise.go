package fidelity

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/comfygate/comfygate/comfy/comfyjson"
)

// normaliser turns a Raw transcript into the form stored in the golden files.
// One instance handles one transcript: the placeholders it hands out (<P1>,
// <c+0>, <B:http[1]>) are assigned by first appearance in that transcript,
// walking it in a fixed order (HTTP exchanges, then sockets; JSON in
// document order).
// Two transcripts of the same behaviour therefore get the same placeholders
// even though the underlying ids differ.
type normaliser struct {
	host      string
	base      int64
	workflows *workflowSet
	prompts   map[string]string // server-made prompt id (uuid) -> <Pn>
	blobs     map[string]string // sha256 of a body or upload -> <B:where first seen>
	loc       string            // where the normaliser is, for blob tokens
	counters  map[string]int64  // file-name prefix -> first counter seen
}

var (
	// uuidRE matches the uuid4 prompt ids ComfyUI makes. Client-chosen ids
	// ("fixture-0000-prompt-id-15", "no-such-id") do not match and are kept.
	uuidRE = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)
	// hex32RE matches the sid ComfyUI invents for a socket without clientId.
	hex32RE = regexp.MustCompile(`^[0-9a-f]{32}$`)
	// tempRE matches PreviewImage's random per-node prefix
	// (ComfyUI_temp_xxxxx_), which changes on every run.
	tempRE = regexp.MustCompile(`ComfyUI_temp_[a-z]{5}_`)
	// counterRE matches SaveImage-style counters (name_00001_.png). Their
	// absolute value depends on which files earlier scenarios wrote, so they
	// are kept only relative to the first counter seen for the same prefix:
	// "one more than the first file" is behaviour, "00005" is history.
	counterRE = regexp.MustCompile(`([^/=&?"\s\[\]]*)_(\d{5})_\.`)
	// runDirRE matches an absolute path into the server's input, output or
	// temp directory inside an exception message.
	runDirRE = regexp.MustCompile(`'[^']*/(input|output|temp)/`)
)

// keptHeaders are the response headers a client can observe and depend on.
// Date, Server, Etag and Last-Modified change from run to run; Connection is
// transport detail; Content-Length is kept only for empty bodies (for others
// it merely restates the body, which is compared itself).
var keptHeaders = []string{"Accept-Ranges", "Allow", "Cache-Control", "Content-Disposition", "Content-Length", "Content-Type", "Expires", "Pragma"}

// Placeholders for values that vary between runs or machines but whose
// presence and type are still checked.
const (
	phTimestamp = "<ts>"
	phInt       = "<int>"
	phText      = "<text>"
	phTraceback = "<traceback>"
	phArgv      = "<argv>"
	phHTML      = "<html>"
	phHex32     = "<hex32>"
	phEarlier   = "<N-earlier>"
)

// normalise returns the golden form of raw.
func normalise(raw Raw, wf *workflowSet) comfyjson.Object {
	n := &normaliser{
		host: raw.Host, base: raw.NumberBase, workflows: wf,
		prompts: map[string]string{}, blobs: map[string]string{}, counters: map[string]int64{},
	}
	exchanges := make([]any, 0, len(raw.HTTP))
	for i, ex := range raw.HTTP {
		n.loc = fmt.Sprintf("http[%d]", i)
		exchanges = append(exchanges, n.exchange(ex))
	}
	sockets := make([]any, 0, len(raw.WS))
	for _, s := range raw.WS {
		sockets = append(sockets, n.socket(s))
	}
	return obj("scenario", raw.Scenario, "source", raw.Source, "http", exchanges, "ws", sockets)
}

// obj builds an ordered object from key, value pairs, skipping nil values.
func obj(kv ...any) comfyjson.Object {
	o := comfyjson.Object{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != nil {
			o.Set(kv[i].(string), kv[i+1])
		}
	}
	return o
}

// str normalises one string wherever it occurs (values, keys, paths, headers).
func (n *normaliser) str(s string) string {
	s = tempRE.ReplaceAllString(s, "ComfyUI_temp_<tmp>_")
	s = counterRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := counterRE.FindStringSubmatch(m)
		c, _ := strconv.ParseInt(sub[2], 10, 64)
		first, ok := n.counters[sub[1]]
		if !ok {
			first = c
			n.counters[sub[1]] = c
		}
		return fmt.Sprintf("%s_<c%+d>_.", sub[1], c-first)
	})
	s = uuidRE.ReplaceAllStringFunc(s, func(id string) string {
		id = strings.ToLower(id)
		if p, ok := n.prompts[id]; ok {
			return p
		}
		p := fmt.Sprintf("<P%d>", len(n.prompts)+1)
		n.prompts[id] = p
		return p
	})
	return hex32RE.ReplaceAllString(s, phHex32)
}

// blob names a body by where it was first seen: "<B:http[1]>" on a later
// step means "the same bytes as step 1's". Naming by place rather than by
// count keeps one wrong body from renaming every later one.
func (n *normaliser) blob(sha, where string) string {
	if b, ok := n.blobs[sha]; ok {
		return b
	}
	b := "<B:" + where + ">"
	n.blobs[sha] = b
	return b
}

// number writes a queue number relative to the scenario's starting counter:
// "<N+3>" is the fourth counter value used by this scenario, "-<N+4>" a
// front-of-queue prompt, "<N-earlier>" a prompt submitted before the
// scenario began (its absolute value depends on earlier scenarios). Client
// supplied numbers are floats in ComfyUI and are kept literally.
func (n *normaliser) number(v any) any {
	num, ok := v.(json.Number)
	if !ok || strings.ContainsAny(string(num), ".eE") {
		return v
	}
	i, err := num.Int64()
	if err != nil {
		return v
	}
	sign := ""
	if i < 0 {
		sign, i = "-", -i
	}
	if i < n.base {
		return sign + phEarlier
	}
	return fmt.Sprintf("%s<N+%d>", sign, i-n.base)
}

// value normalises a parsed JSON value found under key (empty at the top).
func (n *normaliser) value(v any, key string) any {
	if r, ok := n.byKey(v, key); ok {
		return r
	}
	switch t := v.(type) {
	case comfyjson.Object:
		out := comfyjson.Object{}
		for _, m := range t {
			out.Set(n.str(m.Key), n.value(m.Value, m.Key))
		}
		return out
	case []any:
		out := make([]any, len(t))
		queueItem := isQueueItem(t)
		for i, e := range t {
			if queueItem && i == 0 {
				out[i] = n.number(e)
				continue
			}
			out[i] = n.value(e, "")
		}
		return out
	case string:
		return n.str(t)
	default:
		return v
	}
}

// byKey applies the rules that depend on the member name.
func (n *normaliser) byKey(v any, key string) (any, bool) {
	_, isNum := v.(json.Number)
	switch key {
	case "timestamp":
		if isNum {
			return phTimestamp, true
		}
	case "ram_total", "ram_free", "vram_total", "vram_free", "torch_vram_total", "torch_vram_free":
		if isNum {
			return phInt, true
		}
	case "number":
		if isNum {
			return n.number(v), true
		}
	case "traceback":
		if arr, ok := v.([]any); ok && len(arr) > 0 {
			return phTraceback, true
		}
	case "argv":
		if _, ok := v.([]any); ok {
			return phArgv, true
		}
	case "python_version", "pytorch_version":
		if _, ok := v.(string); ok {
			return phText, true
		}
	case "exception_message":
		if s, ok := v.(string); ok {
			return n.str(runDirRE.ReplaceAllString(s, "'<dir>/$1/")), true
		}
	}
	return nil, false
}

// isQueueItem reports whether arr has the shape of a /queue or /history
// prompt tuple: [number, prompt_id, prompt, extra_data, outputs].
func isQueueItem(arr []any) bool {
	if len(arr) != 5 {
		return false
	}
	_, n := arr[0].(json.Number)
	_, id := arr[1].(string)
	_, p := arr[2].(comfyjson.Object)
	_, x := arr[3].(comfyjson.Object)
	_, o := arr[4].([]any)
	return n && id && p && x && o
}

func (n *normaliser) socket(s RawSocket) comfyjson.Object {
	msgs := make([]any, 0, len(s.Events))
	for _, e := range s.Events {
		switch {
		case e.Recv != nil:
			msgs = append(msgs, obj("recv", n.frame(*e.Recv)))
		case e.Send != nil:
			msgs = append(msgs, obj("send", n.frame(*e.Send)))
		}
	}
	return obj("name", s.Name, "path", n.str(s.Path), "status", s.Status, "messages", msgs)
}

// frame normalises a WebSocket text frame; a frame that is not JSON (never
// the case for ComfyUI) is kept as text so the difference shows.
func (n *normaliser) frame(text string) any {
	v, err := comfyjson.Decode([]byte(text))
	if err != nil {
		return obj("not_json", text)
	}
	return n.value(v, "")
}

// headers keeps the response headers listed in keptHeaders.
func (n *normaliser) headers(hs [][2]string, bodyEmpty bool) comfyjson.Object {
	got := map[string][]string{}
	for _, h := range hs {
		k := http.CanonicalHeaderKey(h[0])
		got[k] = append(got[k], h[1])
	}
	out := comfyjson.Object{}
	for _, k := range keptHeaders {
		vs, ok := got[k]
		if !ok || (k == "Content-Length" && !bodyEmpty) {
			continue
		}
		out.Set(k, n.str(strings.Join(vs, ", ")))
	}
	return out
}

// routeOf strips the query and the /api alias so rules can match routes.
func routeOf(path string) string {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	return strings.TrimPrefix(path, "/api")
}

func headerValue(hs [][2]string, name string) string {
	for _, h := range hs {
		if strings.EqualFold(h[0], name) {
			return h[1]
		}
	}
	return ""
}

// sortPending orders queue_pending by (number, prompt_id). ComfyUI sends its
// raw heap, whose layout is an implementation detail of Python's heapq; run
// order (what clients need) is checked through the WebSocket events instead.
func sortPending(v any) {
	o, ok := v.(comfyjson.Object)
	if !ok {
		return
	}
	q, _ := o.Get("queue_pending")
	pending, ok := q.([]any)
	if !ok {
		return
	}
	key := func(e any) (float64, string) {
		arr, _ := e.([]any)
		if len(arr) < 2 {
			return 0, ""
		}
		num, _ := arr[0].(json.Number)
		f, _ := num.Float64()
		id, _ := arr[1].(string)
		return f, id
	}
	slices.SortStableFunc(pending, func(a, b any) int {
		fa, ia := key(a)
		fb, ib := key(b)
		if fa != fb {
			if fa < fb {
				return -1
			}
			return 1
		}
		return strings.Compare(ia, ib)
	})
}
