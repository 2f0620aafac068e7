package comfyapi

import (
	"crypto/sha256"
	"encoding/hex"
	"image/color"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/comfygate/comfygate/comfy/comfysim"
	"github.com/comfygate/comfygate/internal/gateway"
)

// secretExtra is extra_data with Comfy.org credentials (which ComfyUI
// 0.3.64 shows to every caller of /queue) and a look-alike of our own.
func secretExtra() map[string]any {
	return map[string]any{
		"auth_token_comfy_org": "SECRET-TOKEN", "api_key_comfy_org": "SECRET-KEY", "my_password": "SECRET-PW",
		"extra_pnginfo": map[string]any{"workflow": map[string]any{"id": "wf-1"}},
	}
}

func TestCredentialsNeverShown(t *testing.T) {
	e := newEnv(t, envOptions{})
	sock := dialWS(t, e.srv.URL, "?clientId=c1", nil)
	e.sim.SetClassDelay("ImageBlur", time.Hour) // released below, not waited out
	p1 := submit(t, e.srv.URL, map[string]any{"prompt": slowGraph("sec/slow"), "client_id": "c1", "extra_data": secretExtra()}, nil)
	p2 := submit(t, e.srv.URL, map[string]any{"prompt": imageGraph(8, 8, "sec/next"), "client_id": "c1", "extra_data": secretExtra()}, nil)
	sock.wait("the slow node", executingNode(p1, "2"))

	q := do(t, http.MethodGet, e.srv.URL+"/queue", nil, nil)
	if !strings.Contains(string(q.body), p1) || !strings.Contains(string(q.body), p2) || !strings.Contains(string(q.body), `"client_id":"c1"`) {
		t.Fatalf("/queue lacks the prompts or their client_id: %s", q.body)
	}
	paths := []string{"/queue", "/api/queue", "/api/jobs", "/api/jobs/" + p1, "/api/jobs/" + p2}
	noSecrets(t, e.srv.URL, paths...)

	e.sim.SetClassDelay("ImageBlur", 0)
	sock.wait("end of the slow prompt", finished(p1))
	sock.wait("end of the second prompt", finished(p2))
	h := do(t, http.MethodGet, e.srv.URL+"/history/"+p2, nil, nil)
	if !strings.Contains(string(h.body), `"wf-1"`) {
		t.Errorf("history lost the extra_pnginfo a client may rely on: %s", h.body)
	}
	noSecrets(t, e.srv.URL, "/history", "/history/"+p1, "/api/history/"+p2, "/api/jobs/"+p2)
}

func noSecrets(tb testing.TB, base string, paths ...string) {
	tb.Helper()
	for _, p := range paths {
		r := do(tb, http.MethodGet, base+p, nil, nil)
		if r.status != http.StatusOK {
			tb.Errorf("GET %s: %d", p, r.status)
		}
		if strings.Contains(string(r.body), "SECRET") {
			tb.Errorf("GET %s shows a credential: %s", p, r.body)
		}
	}
}

func TestEventsStayWithTheirOwnerAndClient(t *testing.T) {
	e := newEnv(t, envOptions{owner: keyOwner})
	a1 := dialWS(t, e.srv.URL, "?clientId=a1", keyHeader("A"))
	a2 := dialWS(t, e.srv.URL, "?clientId=a2", keyHeader("A"))
	b1 := dialWS(t, e.srv.URL, "?clientId=b1", keyHeader("B"))
	b2 := dialWS(t, e.srv.URL, "?clientId=b2", keyHeader("B"))

	p1 := submit(t, e.srv.URL, map[string]any{"prompt": imageGraph(8, 8, "a/one"), "client_id": "a1"}, keyHeader("A"))
	a1.wait("end of A's targeted prompt", finished(p1))
	// Without client_id ComfyUI broadcasts progress to every socket: here
	// only to the sockets of the same key.
	p2 := submit(t, e.srv.URL, map[string]any{"prompt": imageGraph(8, 8, "a/two")}, keyHeader("A"))
	a1.wait("A's untargeted prompt", func(m wsMsg) bool { return m.Type == "progress_state" && m.Data["prompt_id"] == p2 })
	a1.wait("A's queue empty again", func(m wsMsg) bool { return m.Type == "status" && queueRemaining(m) == "0" })
	p3 := submit(t, e.srv.URL, map[string]any{"prompt": imageGraph(8, 8, "b/one"), "client_id": "b1"}, keyHeader("B"))
	b1.wait("end of B's prompt", finished(p3))
	b2.wait("B's queue empty again", func(m wsMsg) bool { return m.Type == "status" && queueRemaining(m) == "0" })

	for name, s := range map[string]*testSocket{"b1": b1, "b2": b2} {
		for _, m := range s.all() {
			if strings.Contains(m.Raw, p1) || strings.Contains(m.Raw, p2) || m.Binary != nil {
				t.Errorf("B's socket %s got A's message: %s", name, m.Raw)
			}
		}
	}
	for _, m := range a2.all() {
		if m.Data["prompt_id"] == p1 {
			t.Errorf("A's other client got a message targeted at a1: %s", m.Raw)
		}
	}
	if !seen(a2, func(m wsMsg) bool { return m.Type == "progress_state" && m.Data["prompt_id"] == p2 }) {
		t.Error("A's other client did not get the broadcast progress of A's prompt without client_id")
	}
	for _, m := range b2.all() {
		if m.Data["prompt_id"] == p3 {
			t.Errorf("B's other client got a message targeted at b1: %s", m.Raw)
		}
	}

	hist := do(t, http.MethodGet, e.srv.URL+"/history/"+p1, nil, keyHeader("B"))
	if string(hist.body) != "{}" {
		t.Errorf("B reads A's history: %s", hist.body)
	}
	if all := do(t, http.MethodGet, e.srv.URL+"/history", nil, keyHeader("B")); strings.Contains(string(all.body), p1) {
		t.Errorf("B's /history lists A's prompt: %s", all.body)
	}
	entry := do(t, http.MethodGet, e.srv.URL+"/history/"+p1, nil, keyHeader("A")).json(t)[p1].(map[string]any)
	ref := outputImages(t, entry)[0]
	q := "/view?filename=" + url.QueryEscape(ref["filename"].(string)) + "&subfolder=" + url.QueryEscape(ref["subfolder"].(string))
	if r := do(t, http.MethodGet, e.srv.URL+q, nil, keyHeader("A")); r.status != http.StatusOK {
		t.Errorf("A cannot view its own output: %d", r.status)
	}
	if r := do(t, http.MethodGet, e.srv.URL+q, nil, keyHeader("B")); r.status != http.StatusNotFound {
		t.Errorf("B views A's output: %d", r.status)
	}
}

func queueRemaining(m wsMsg) string {
	st, _ := m.Data["status"].(map[string]any)
	ei, _ := st["exec_info"].(map[string]any)
	n, _ := ei["queue_remaining"].(interface{ String() string })
	if n == nil {
		return ""
	}
	return n.String()
}

func seen(s *testSocket, pred func(wsMsg) bool) bool {
	for _, m := range s.all() {
		if pred(m) {
			return true
		}
	}
	return false
}

func TestClientIDBoundToKey(t *testing.T) {
	e := newEnv(t, envOptions{owner: keyOwner})
	if got := dialStatus(t, e.srv.URL, "?clientId=x", nil); got != http.StatusUnauthorized {
		t.Errorf("socket without a key: %d, want 401", got)
	}
	a := dialWS(t, e.srv.URL, "?clientId=shared", keyHeader("A"))
	if got := dialStatus(t, e.srv.URL, "?clientId=shared", keyHeader("B")); got != http.StatusForbidden {
		t.Errorf("B takes A's live clientId: %d, want 403", got)
	}
	p := submit(t, e.srv.URL, map[string]any{"prompt": imageGraph(8, 8, "bound"), "client_id": "shared"}, keyHeader("A"))
	a.wait("end of A's prompt", finished(p))
	a.close()
	if got := dialStatus(t, e.srv.URL, "?clientId=shared", keyHeader("B")); got != http.StatusForbidden {
		t.Errorf("B takes the clientId of A's prompt after A left: %d, want 403", got)
	}
	r := do(t, http.MethodPost, e.srv.URL+"/prompt", mustJSON(t, map[string]any{"prompt": imageGraph(8, 8, "x"), "client_id": "shared"}), keyHeader("B"))
	if r.status != http.StatusForbidden {
		t.Errorf("B posts with A's clientId: %d %s, want 403", r.status, r.body)
	}
	if got := dialStatus(t, e.srv.URL, "?clientId=shared", keyHeader("A")); got != http.StatusSwitchingProtocols {
		t.Errorf("A reconnects with its clientId: %d, want 101", got)
	}
}

func TestSystemStatsHidesTheServer(t *testing.T) {
	e := newEnv(t, envOptions{sim: comfysim.Options{Argv: []string{"/srv/secret/ComfyUI/main.py", "--listen", "10.1.2.3"}}})
	r := do(t, http.MethodGet, e.srv.URL+"/system_stats", nil, nil)
	if r.status != http.StatusOK || strings.Contains(string(r.body), "secret") || strings.Contains(string(r.body), "10.1.2.3") {
		t.Fatalf("/system_stats shows the server's command line: %d %s", r.status, r.body)
	}
	sys := r.json(t)["system"].(map[string]any)
	if argv, ok := sys["argv"].([]any); !ok || len(argv) != 0 {
		t.Errorf("argv = %v, want []", sys["argv"])
	}
	if devs, _ := r.json(t)["devices"].([]any); len(devs) != 1 {
		t.Errorf("devices = %v, want the backend's one", devs)
	}
}

func TestSharedBackendRoutesClosedToTenants(t *testing.T) {
	e := newEnv(t, envOptions{owner: keyOwner})
	for _, p := range []string{"/internal/logs", "/internal/folder_paths", "/api/userdata?dir=workflows", "/settings"} {
		if r := do(t, http.MethodGet, e.srv.URL+p, nil, keyHeader("A")); r.status != http.StatusNotFound {
			t.Errorf("GET %s with keys on: %d %s, want 404", p, r.status, r.body)
		}
	}
	if r := do(t, http.MethodGet, e.srv.URL+"/internal/logs", nil, nil); r.status != http.StatusUnauthorized {
		t.Errorf("proxied route without a key: %d, want 401", r.status)
	}
	if r := do(t, http.MethodGet, e.srv.URL+"/extensions", nil, keyHeader("A")); r.status != http.StatusOK {
		t.Errorf("GET /extensions: %d", r.status)
	}
}

// TestFileInputsStayWithTheirKey: a LoadImage may name the caller's own
// uploads (by name, or by the staged name of their bytes), never another
// key's: the use cases' one owner check answers for the surface.
func TestFileInputsStayWithTheirKey(t *testing.T) {
	e := newEnv(t, envOptions{owner: keyOwner})
	data := testPNG(t, 3, 3, color.NRGBA{R: 200, A: 255})
	if r := uploadWith(t, e.srv.URL, "/upload/image", "a.png", data, keyHeader("A")); r.status != http.StatusOK {
		t.Fatalf("A's upload: %d %s", r.status, r.body)
	}
	sum := sha256.Sum256(data)
	staged := gateway.StagedPrefix + hex.EncodeToString(sum[:]) + ".png"
	loadImage := func(name string) map[string]any {
		return map[string]any{
			"1": map[string]any{"class_type": "LoadImage", "inputs": map[string]any{"image": name}},
			"2": map[string]any{"class_type": "SaveImage", "inputs": map[string]any{"images": []any{"1", 0}, "filename_prefix": "in"}},
		}
	}
	for _, tt := range []struct {
		key, name string
		want      int
	}{
		{"A", "a.png", http.StatusOK},
		{"A", staged, http.StatusOK},
		{"B", "a.png", http.StatusBadRequest},
		{"B", staged, http.StatusBadRequest},
	} {
		r := do(t, http.MethodPost, e.srv.URL+"/prompt", mustJSON(t, map[string]any{"prompt": loadImage(tt.name)}), keyHeader(tt.key))
		if r.status != tt.want {
			t.Errorf("%s loads %s: %d %s, want %d", tt.key, tt.name, r.status, r.body, tt.want)
		}
		if r.status == http.StatusBadRequest && !strings.Contains(string(r.body), `"node_errors":{"1"`) {
			t.Errorf("%s loads %s: refused without ComfyUI's node error: %s", tt.key, tt.name, r.body)
		}
	}
}
