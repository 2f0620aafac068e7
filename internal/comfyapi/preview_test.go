package comfyapi

import (
	"encoding/binary"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/comfy/comfysim"
)

// TestPreviewFormatPerClient: upstream the fleet negotiates previews with
// metadata (type 4); a client that negotiated them too gets type 4 naming
// its prompt, one that did not gets ComfyUI's old type 1.
func TestPreviewFormatPerClient(t *testing.T) {
	e := newFleetEnv(t, fleetEnvOptions{backends: 1, sim: comfysim.Options{PreviewMethod: "auto"}})
	ckpts := []string{}
	if err := json.Unmarshal(do(t, http.MethodGet, e.srv.URL+"/models/checkpoints", nil, nil).body, &ckpts); err != nil || len(ckpts) == 0 {
		t.Fatalf("no checkpoints: %v", err)
	}
	modern := dialWS(t, e.srv.URL, "?clientId=modern", nil)
	modern.send(map[string]any{"type": "feature_flags", "data": map[string]any{"supports_preview_metadata": true}})
	modern.wait("feature_flags reply", func(m wsMsg) bool { return m.Type == "feature_flags" })
	classic := dialWS(t, e.srv.URL, "?clientId=classic", nil)
	pm := submit(t, e.srv.URL, map[string]any{"prompt": txt2img(ckpts[0], 64, 64, 1, "pv/m"), "client_id": "modern"}, nil)
	pc := submit(t, e.srv.URL, map[string]any{"prompt": txt2img(ckpts[0], 64, 64, 2, "pv/c"), "client_id": "classic"}, nil)
	modern.wait("end of modern's run", finished(pm))
	classic.wait("end of classic's run", finished(pc))

	check := func(name string, s *testSocket, wantType uint32, pid string) {
		n := 0
		for _, m := range s.all() {
			if m.Binary == nil {
				continue
			}
			n++
			ev, err := comfy.DecodeBinaryFrame(m.Binary)
			if err != nil || binary.BigEndian.Uint32(m.Binary) != wantType {
				t.Fatalf("%s: binary frame of type %d (%v), want %d", name, binary.BigEndian.Uint32(m.Binary), err, wantType)
			}
			if p, ok := ev.(comfy.PreviewImageWithMetadata); ok && (p.Meta.PromptID != pid || p.Meta.NodeID != "3") {
				t.Errorf("%s: preview metadata %+v, want prompt %s node 3", name, p.Meta, pid)
			}
		}
		if n == 0 {
			t.Errorf("%s: no previews", name)
		}
	}
	check("modern", modern, comfy.BinaryPreviewImageWithMetadata, pm)
	check("classic", classic, comfy.BinaryPreviewImage, pc)
	for _, m := range modern.all() {
		if strings.Contains(m.Raw, pc) {
			t.Errorf("modern got classic's message: %s", m.Raw)
		}
	}
}
