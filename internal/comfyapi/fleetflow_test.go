package comfyapi

import (
	"context"
	"fmt"
	"net/http"
	"testing"
)

// txt2img is the default text-to-image graph (SD 1.5 style) at w×h.
func txt2img(ckpt string, w, h, seed int, prefix string) map[string]any {
	link := func(id string, slot int) []any { return []any{id, slot} }
	return map[string]any{
		"4": map[string]any{"class_type": "CheckpointLoaderSimple", "inputs": map[string]any{"ckpt_name": ckpt}},
		"5": map[string]any{"class_type": "EmptyLatentImage", "inputs": map[string]any{"width": w, "height": h, "batch_size": 1}},
		"6": map[string]any{"class_type": "CLIPTextEncode", "inputs": map[string]any{"text": "a lighthouse at dusk", "clip": link("4", 1)}},
		"7": map[string]any{"class_type": "CLIPTextEncode", "inputs": map[string]any{"text": "blurry", "clip": link("4", 1)}},
		"3": map[string]any{"class_type": "KSampler", "inputs": map[string]any{"seed": seed, "steps": 3, "cfg": 7, "sampler_name": "euler",
			"scheduler": "normal", "denoise": 1, "model": link("4", 0), "positive": link("6", 0), "negative": link("7", 0), "latent_image": link("5", 0)}},
		"8": map[string]any{"class_type": "VAEDecode", "inputs": map[string]any{"samples": link("3", 0), "vae": link("4", 2)}},
		"9": map[string]any{"class_type": "SaveImage", "inputs": map[string]any{"images": link("8", 0), "filename_prefix": prefix}},
	}
}

// TestTwoBackendsComfyClient is a ComfyUI client against comfygate with
// two simulated backends: POST /prompt with client_id, the socket until
// "executing" null, /history/{id}, /view. Every image has the size asked
// for, and although both backends write ComfyUI_00001_.png, every name the
// client sees is different and serves its own image.
func TestTwoBackendsComfyClient(t *testing.T) {
	e := newFleetEnv(t, fleetEnvOptions{backends: 2, maxInflight: 1})
	models := do(t, http.MethodGet, e.srv.URL+"/models/checkpoints", nil, nil)
	var ckpts []string
	if err := jsonUnmarshal(models.body, &ckpts); err != nil || len(ckpts) == 0 {
		t.Fatalf("/models/checkpoints: %s", models.body)
	}
	sock := dialWS(t, e.srv.URL, "?clientId=client-x", nil)
	type want struct{ w, h int }
	wants := map[string]want{}
	for i := range 6 {
		w, h := 64+8*i, 48+8*i
		graph := imageGraph(w, h, "ComfyUI")
		if i%2 == 0 {
			graph = txt2img(ckpts[0], w, h, i, "ComfyUI")
		}
		wants[submit(t, e.srv.URL, map[string]any{"prompt": graph, "client_id": "client-x"}, nil)] = want{w, h}
	}
	ended := map[string]bool{}
	sock.wait("the end of every prompt", func(m wsMsg) bool {
		if id, _ := m.Data["prompt_id"].(string); finished(id)(m) {
			ended[id] = true
		}
		return len(ended) == len(wants)
	})

	names := map[string]string{}
	backends, backendNames := map[string]bool{}, map[string]int{}
	for id, wh := range wants {
		entry, ok := do(t, http.MethodGet, e.srv.URL+"/history/"+id, nil, nil).json(t)[id].(map[string]any)
		if !ok {
			t.Fatalf("prompt %s: no history after executing null", id)
		}
		refs := outputImages(t, entry)
		if len(refs) != 1 {
			t.Fatalf("prompt %s: outputs %v", id, entry["outputs"])
		}
		name := fmt.Sprint(refs[0]["subfolder"], "/", refs[0]["filename"])
		if other, dup := names[name]; dup {
			t.Errorf("prompts %s and %s both show %s", other, id, name)
		}
		names[name] = id
		img := viewRef(t, e.srv.URL, refs[0], nil)
		if w, h := imageSize(t, img.body); w != wh.w || h != wh.h {
			t.Errorf("prompt %s: %s is %dx%d, want %dx%d", id, name, w, h, wh.w, wh.h)
		}
		j, err := e.store.GetJob(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		backends[j.Backend] = true
		backendNames[j.Outputs[0].Filename]++
	}
	if len(backends) != 2 {
		t.Errorf("prompts ran on %v, want both backends", backends)
	}
	if backendNames["ComfyUI_00001_.png"] < 2 {
		t.Errorf("backend file names %v: the test needs two backends writing the same name", backendNames)
	}
}
