package comfyapi

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"image/color"
	"net/http"
	"strings"
	"testing"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/internal/gateway"
	"github.com/comfygate/comfygate/workflow"
)

// withAdmin makes key "root" the admin of a keyed env (keyOwner's owner
// ids are "key-" + the key).
func withAdmin(allow ...string) func(*gateway.Config) {
	return func(c *gateway.Config) {
		c.Admins = []string{"key-root"}
		c.ProxyAllow = allow
	}
}

// TestProxyClosedToUserKeys: with keys on, a user key reaches no backend
// route the surface does not serve (the simulator's fault and stats
// routes among them) unless the server opened its subtree; an admin key
// reaches them all; the backend stays up.
func TestProxyClosedToUserKeys(t *testing.T) {
	e := newEnv(t, envOptions{owner: keyOwner, gw: withAdmin("/sim/stats")})
	crash := []byte(`{"crash": true}`)
	for _, tt := range []struct {
		key, method, path string
		body              []byte
		want              int
	}{
		{"A", http.MethodPost, "/sim/faults", crash, http.StatusForbidden},
		{"A", http.MethodPost, "/api/sim/faults", crash, http.StatusForbidden},
		{"A", http.MethodGet, "/sim/faults", nil, http.StatusForbidden},
		{"A", http.MethodGet, "/custom_node/run", nil, http.StatusForbidden},
		{"A", http.MethodGet, "/sim/statsx", nil, http.StatusForbidden},
		{"A", http.MethodGet, "/sim/stats/../faults", nil, http.StatusForbidden},
		{"A", http.MethodGet, "/sim/stats/%2e%2e/faults", nil, http.StatusForbidden},
		{"A", http.MethodGet, "/sim/stats", nil, http.StatusOK},
		// Passed through (as /sim/stats is), and answered by the simulator,
		// which serves its own routes without the /api copy.
		{"A", http.MethodGet, "/api/sim/stats", nil, http.StatusNotFound},
		{"root", http.MethodGet, "/sim/faults", nil, http.StatusOK},
	} {
		r := do(t, tt.method, e.srv.URL+tt.path, tt.body, keyHeader(tt.key))
		if r.status != tt.want {
			t.Errorf("%s %s %s: %d %s, want %d", tt.key, tt.method, tt.path, r.status, r.body, tt.want)
		}
		if r.status == http.StatusForbidden && (!strings.HasPrefix(string(r.body), "403: Forbidden: ") ||
			!strings.Contains(string(r.body), tt.path) || !strings.Contains(string(r.body), "--proxy-allow")) {
			t.Errorf("%s %s: refusal %q does not name the route and --proxy-allow", tt.method, tt.path, r.body)
		}
	}
	if r := do(t, http.MethodGet, e.sim.URL()+"/system_stats", nil, nil); r.status != http.StatusOK {
		t.Fatalf("the simulator went down: %d", r.status)
	}
	sock := dialWS(t, e.srv.URL, "?clientId=a", keyHeader("A"))
	p := submit(t, e.srv.URL, map[string]any{"prompt": imageGraph(8, 8, "after"), "client_id": "a"}, keyHeader("A"))
	sock.wait("a prompt after the refused crash", finished(p))
}

// TestProxyOpenWithoutKeys: single-user mode passes every route, as
// before keys existed.
func TestProxyOpenWithoutKeys(t *testing.T) {
	e := newEnv(t, envOptions{})
	if r := do(t, http.MethodGet, e.srv.URL+"/sim/faults", nil, nil); r.status != http.StatusOK {
		t.Errorf("GET /sim/faults without keys: %d %s", r.status, r.body)
	}
}

// TestUploadsOfTheSameBytes: keys A and C upload the same bytes under the
// same name; each may load them by name or by their staged name, and B,
// who uploaded nothing, may not, and is told on the node.
func TestUploadsOfTheSameBytes(t *testing.T) {
	e := newEnv(t, envOptions{owner: keyOwner})
	data := testPNG(t, 3, 3, color.NRGBA{G: 200, A: 255})
	for _, k := range []string{"A", "C"} {
		if r := uploadWith(t, e.srv.URL, "/upload/image", "same.png", data, keyHeader(k)); r.status != http.StatusOK {
			t.Fatalf("%s's upload: %d %s", k, r.status, r.body)
		}
	}
	sum := sha256.Sum256(data)
	staged := gateway.StagedPrefix + hex.EncodeToString(sum[:]) + ".png"
	for _, tt := range []struct {
		key, name string
		want      int
	}{
		{"C", staged, http.StatusOK},
		{"C", "same.png", http.StatusOK},
		{"A", staged, http.StatusOK},
		{"B", staged, http.StatusBadRequest},
		{"B", "same.png", http.StatusBadRequest},
	} {
		sock := dialWS(t, e.srv.URL, "?clientId="+tt.key, keyHeader(tt.key))
		r := do(t, http.MethodPost, e.srv.URL+"/prompt", mustJSON(t, map[string]any{"prompt": loadImageGraph(tt.name), "client_id": tt.key}), keyHeader(tt.key))
		if r.status != tt.want {
			t.Errorf("%s loads %s: %d %s, want %d", tt.key, tt.name, r.status, r.body, tt.want)
		}
		if r.status == http.StatusBadRequest && !strings.Contains(string(r.body), `"node_errors":{"1"`) {
			t.Errorf("%s loads %s: refused without a node error: %s", tt.key, tt.name, r.body)
		}
		if r.status == http.StatusOK {
			p, _ := r.json(t)["prompt_id"].(string)
			end := sock.wait("the end of "+tt.key+"'s prompt", func(m wsMsg) bool {
				return finished(p)(m) || m.Type == "execution_error" && m.Data["prompt_id"] == p
			})
			if end.Type == "execution_error" {
				t.Errorf("%s's prompt on %s failed: %s", tt.key, tt.name, end.Raw)
			}
		}
		sock.close()
	}
}

func loadImageGraph(name string) map[string]any {
	return map[string]any{
		"1": map[string]any{"class_type": "LoadImage", "inputs": map[string]any{"image": name}},
		"2": map[string]any{"class_type": "SaveImage", "inputs": map[string]any{"images": []any{"1", 0}, "filename_prefix": "in"}},
	}
}

// TestNodeRefusal: a refusal of one node's input from the use cases (as
// when no catalog validated the prompt first) answers with ComfyUI's node
// error on that node.
func TestNodeRefusal(t *testing.T) {
	g := workflow.Graph{"7": {ClassType: "LoadImage", Inputs: map[string]any{"image": "x"}}}
	err := nodeRefusal(&gateway.InputError{Field: "prompt.7.inputs.image", Problem: "x is not yours"}, g)
	var pe *comfy.PromptError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v", err)
	}
	ne, ok := pe.NodeErrors["7"]
	if !ok || ne.ClassType != "LoadImage" || len(ne.Errors) != 1 || ne.Errors[0].ExtraInfo["input_name"] != "image" ||
		!strings.Contains(ne.Errors[0].Details, "x is not yours") {
		t.Errorf("node errors = %+v", pe.NodeErrors)
	}
	other := errors.New("x")
	if nodeRefusal(other, g) != other {
		t.Error("another error was changed")
	}
}

// TestBackendErrorTextsPerKey: a backend's exception about a file names
// the backend's directories; a user key reads it without them on the
// socket, in /history and in /api/jobs, while an admin reads it whole.
func TestBackendErrorTextsPerKey(t *testing.T) {
	e := newEnv(t, envOptions{owner: keyOwner, gw: withAdmin()})
	for _, tt := range []struct {
		key   string
		whole bool
	}{{"A", false}, {"root", true}} {
		if r := uploadWith(t, e.srv.URL, "/upload/image", "broken.png", []byte("not an image at all"), keyHeader(tt.key)); r.status != http.StatusOK {
			t.Fatalf("upload: %d %s", r.status, r.body)
		}
		sock := dialWS(t, e.srv.URL, "?clientId=c-"+tt.key, keyHeader(tt.key))
		p := submit(t, e.srv.URL, map[string]any{"prompt": loadImageGraph("broken.png"), "client_id": "c-" + tt.key}, keyHeader(tt.key))
		live := sock.wait("the execution error", func(m wsMsg) bool { return m.Type == "execution_error" && m.Data["prompt_id"] == p })
		sock.wait("the end", finished(p))
		sock.close()

		hist := do(t, http.MethodGet, e.srv.URL+"/history/"+p, nil, keyHeader(tt.key))
		jobs := do(t, http.MethodGet, e.srv.URL+"/api/jobs/"+p, nil, keyHeader(tt.key))
		for where, text := range map[string]string{"socket": live.Raw, "history": string(hist.body), "jobs": string(jobs.body)} {
			if !strings.Contains(text, "cannot identify image file") {
				t.Errorf("%s's %s lost the exception: %s", tt.key, where, text)
				continue
			}
			dirs := strings.Contains(text, "/input/")
			if dirs != tt.whole {
				t.Errorf("%s's %s shows the backend's directories: %v, want %v: %s", tt.key, where, dirs, tt.whole, text)
			}
		}
		var m struct {
			Data comfy.ExecutionError `json:"data"`
		}
		if err := json.Unmarshal([]byte(live.Raw), &m); err != nil {
			t.Fatal(err)
		}
		if !tt.whole && strings.TrimSpace(m.Data.ExceptionMessage) != "cannot identify image file 'broken.png'" {
			t.Errorf("%s reads %q", tt.key, m.Data.ExceptionMessage)
		}
	}
}
