package comfysim_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/url"
	"testing"

	"github.com/comfygate/comfygate/comfy/comfysim"
)

// textToImage is ComfyUI's default graph, as clients written for a real
// server post it.
func textToImage(width, height, batch, steps int, seed uint64) map[string]any {
	return map[string]any{
		"3": map[string]any{"class_type": "KSampler", "inputs": map[string]any{
			"seed": seed, "steps": steps, "cfg": 8, "sampler_name": "euler", "scheduler": "normal", "denoise": 1,
			"model": []any{"4", 0}, "positive": []any{"6", 0}, "negative": []any{"7", 0}, "latent_image": []any{"5", 0}}},
		"4": map[string]any{"class_type": "CheckpointLoaderSimple", "inputs": map[string]any{"ckpt_name": "v1-5-pruned-emaonly.safetensors"}},
		"5": map[string]any{"class_type": "EmptyLatentImage", "inputs": map[string]any{"width": width, "height": height, "batch_size": batch}},
		"6": map[string]any{"class_type": "CLIPTextEncode", "inputs": map[string]any{"text": "a photo of a cat", "clip": []any{"4", 1}}},
		"7": map[string]any{"class_type": "CLIPTextEncode", "inputs": map[string]any{"text": "blurry", "clip": []any{"4", 1}}},
		"8": map[string]any{"class_type": "VAEDecode", "inputs": map[string]any{"samples": []any{"3", 0}, "vae": []any{"4", 2}}},
		"9": map[string]any{"class_type": "SaveImage", "inputs": map[string]any{"filename_prefix": "ComfyUI", "images": []any{"8", 0}}},
	}
}

type message struct {
	Type string         `json:"type"`
	Data map[string]any `json:"data"`
}

func decode(t *testing.T, f frame) message {
	t.Helper()
	var m message
	if err := json.Unmarshal(f.data, &m); err != nil {
		t.Fatalf("decode %s: %v", f.data, err)
	}
	return m
}

func TestTextToImageEndToEnd(t *testing.T) {
	s := start(t, comfysim.Options{})
	ws := dial(t, s, "e2e")
	ws.mustNext()
	id := submit(t, s, textToImage(256, 384, 2, 12, 18446744073709551615), "e2e")
	frames := ws.untilDone(id)

	var executing, stateOrder []string
	progress := 0
	var saved []any
	for _, f := range frames {
		m := decode(t, f)
		switch m.Type {
		case "progress_state":
			stateOrder = nodeKeys(t, f.data)
		case "executing":
			if n, ok := m.Data["node"].(string); ok {
				executing = append(executing, n)
			}
		case "progress":
			progress++
			if m.Data["node"] != "3" || m.Data["max"] != float64(12) {
				t.Errorf("progress %v", m.Data)
			}
		case "executed":
			saved = m.Data["output"].(map[string]any)["images"].([]any)
		}
	}
	// json.Marshal sorts input names; for that input order ComfyUI's
	// ExecutionList (run in Python) gives this order.
	diff(t, "executing order", []string{"4", "6", "7", "5", "3", "8", "9"}, executing)
	diff(t, "progress events", 12, progress)
	diff(t, "progress_state keeps touch order", executing, stateOrder)
	if len(saved) != 2 {
		t.Fatalf("saved %v, want 2 images", saved)
	}
	var first []byte
	for i, it := range saved {
		ref := it.(map[string]any)
		q := url.Values{"filename": {ref["filename"].(string)}, "subfolder": {ref["subfolder"].(string)}, "type": {ref["type"].(string)}}
		r := get(t, s, "/view?"+q.Encode())
		if r.status != http.StatusOK || r.header.Get("Content-Type") != "image/png" {
			t.Fatalf("view: %d %s", r.status, r.header.Get("Content-Type"))
		}
		img, err := png.Decode(bytes.NewReader(r.body))
		if err != nil {
			t.Fatal(err)
		}
		if b := img.Bounds(); b.Dx() != 256 || b.Dy() != 384 {
			t.Errorf("image %d is %dx%d, want 256x384", i, b.Dx(), b.Dy())
		}
		if i == 0 {
			first = r.body
		} else if bytes.Equal(first, r.body) {
			t.Error("the two batch images are identical")
		}
	}
}

// The SD imitation must be deterministic and depend on the inputs.
func TestTextToImageDeterministic(t *testing.T) {
	render := func(seed uint64) image.Image {
		s := start(t, comfysim.Options{})
		id := submit(t, s, textToImage(64, 64, 1, 2, seed), "")
		entry := history(t, s, id)
		ref := entry["outputs"].(map[string]any)["9"].(map[string]any)["images"].([]any)[0].(map[string]any)
		r := get(t, s, "/view?filename="+url.QueryEscape(ref["filename"].(string)))
		img, err := png.Decode(bytes.NewReader(r.body))
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	a, b, c := render(1), render(1), render(2)
	if !sameImage(a, b) {
		t.Error("same seed, different image")
	}
	if sameImage(a, c) {
		t.Error("different seed, same image")
	}
}

func sameImage(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			if a.At(x, y) != b.At(x, y) {
				return false
			}
		}
	}
	return true
}

// Per step: progress_state, [type 4], progress, [type 1] (section 5.1).
func TestSamplerPreviews(t *testing.T) {
	s := start(t, comfysim.Options{PreviewMethod: "auto", PreviewSize: 64})
	plain := dial(t, s, "plain")
	plain.mustNext()
	meta := dial(t, s, "meta")
	meta.mustNext()
	meta.send(map[string]any{"type": "feature_flags", "data": map[string]any{"supports_preview_metadata": true}})
	if m := decode(t, meta.mustNext()); m.Type != "feature_flags" || m.Data["max_upload_size"] != float64(104857600) {
		t.Fatalf("feature_flags reply: %+v", m)
	}

	tests := []struct {
		ws        *socket
		client    string
		wantType  uint32
		stepOrder []string
	}{
		{plain, "plain", 1, []string{"progress_state", "progress", "binary"}},
		{meta, "meta", 4, []string{"progress_state", "binary", "progress"}},
	}
	for _, tt := range tests {
		t.Run(tt.client, func(t *testing.T) {
			id := submit(t, s, textToImage(64, 64, 1, 3, uint64(len(tt.client))), tt.client)
			frames := tt.ws.untilDone(id)
			var steps []string
			in := false
			for _, f := range frames {
				typ := f.typ()
				if typ == "executing" && bytes.Contains(f.data, []byte(`"node": "3"`)) {
					in = true
					continue
				}
				if !in {
					continue
				}
				if typ == "executed" || (typ == "progress_state" && bytes.Contains(f.data, []byte(`"3": {"value": 3, "max": 3, "state": "finished"`))) {
					break
				}
				steps = append(steps, typ)
				if f.binary {
					if got := binary.BigEndian.Uint32(f.data); got != tt.wantType {
						t.Errorf("binary frame type %d, want %d", got, tt.wantType)
					}
				}
			}
			var want []string
			for range 3 {
				want = append(want, tt.stepOrder...)
			}
			diff(t, "per-step frames", want, steps)
		})
	}
}

// SaveImageWebsocket sends PNG frames, writes nothing, is never cached.
func TestSaveImageWebsocket(t *testing.T) {
	s := start(t, comfysim.Options{})
	ws := dial(t, s, "wsave")
	ws.mustNext()
	prompt := map[string]any{
		"1": map[string]any{"class_type": "EmptyImage", "inputs": map[string]any{"width": 16, "height": 8, "batch_size": 2, "color": 255}},
		"2": map[string]any{"class_type": "SaveImageWebsocket", "inputs": map[string]any{"images": []any{"1", 0}}},
	}
	for run := range 2 {
		id := submit(t, s, prompt, "wsave")
		pngs := 0
		for _, f := range ws.untilDone(id) {
			if f.binary {
				diff(t, "frame header", []uint32{1, 2}, []uint32{binary.BigEndian.Uint32(f.data), binary.BigEndian.Uint32(f.data[4:])})
				img, err := png.Decode(bytes.NewReader(f.data[8:]))
				if err != nil || img.Bounds().Dx() != 16 {
					t.Errorf("frame image: %v", err)
				}
				pngs++
			}
			if f.typ() == "executed" {
				t.Errorf("run %d: SaveImageWebsocket must not send executed", run)
			}
		}
		diff(t, "PNG frames", 2, pngs)
		entry := history(t, s, id)
		diff(t, "history outputs", map[string]any{}, entry["outputs"])
	}
}

// img2img with a LoRA: LoadImage → VAEEncode → KSampler → VAEDecode keeps
// the uploaded size; SaveImage embeds the prompt and workflow as PNG text.
func TestImageToImageWithLora(t *testing.T) {
	s := start(t, comfysim.Options{})
	upload(t, s, "/upload/image", "src.png", pngBytes(t, 96, 64, color.NRGBA{1, 2, 3, 255}))
	p := textToImage(0, 0, 1, 3, 7)
	delete(p, "5")
	p["10"] = map[string]any{"class_type": "LoadImage", "inputs": map[string]any{"image": "src.png"}}
	p["11"] = map[string]any{"class_type": "VAEEncode", "inputs": map[string]any{"pixels": []any{"10", 0}, "vae": []any{"4", 2}}}
	p["12"] = map[string]any{"class_type": "LoraLoader", "inputs": map[string]any{"model": []any{"4", 0}, "clip": []any{"4", 1},
		"lora_name": "lcm-lora-sdv1-5.safetensors", "strength_model": 1.0, "strength_clip": 1.0}}
	ks := p["3"].(map[string]any)["inputs"].(map[string]any)
	ks["latent_image"], ks["model"], ks["denoise"] = []any{"11", 0}, []any{"12", 0}, 0.5
	p["6"].(map[string]any)["inputs"].(map[string]any)["clip"] = []any{"12", 1}
	workflowJSON := map[string]any{"id": "wf-1", "nodes": []any{}}
	id := submit(t, s, p, "", "extra_data", map[string]any{"extra_pnginfo": map[string]any{"workflow": workflowJSON}})
	entry := history(t, s, id)
	if st := entry["status"].(map[string]any)["status_str"]; st != "success" {
		t.Fatalf("status %v: %v", st, entry["status"])
	}
	ref := entry["outputs"].(map[string]any)["9"].(map[string]any)["images"].([]any)[0].(map[string]any)
	r := get(t, s, "/view?filename="+url.QueryEscape(ref["filename"].(string)))
	cfg, err := png.DecodeConfig(bytes.NewReader(r.body))
	if err != nil || cfg.Width != 96 || cfg.Height != 64 {
		t.Errorf("output %dx%d (%v), want 96x64", cfg.Width, cfg.Height, err)
	}
	text := pngTextChunks(r.body)
	var prompt map[string]any
	if err := json.Unmarshal([]byte(text["prompt"]), &prompt); err != nil || prompt["12"] == nil {
		t.Errorf("prompt chunk %q: %v", text["prompt"], err)
	}
	diff(t, "workflow chunk", `{"id": "wf-1", "nodes": []}`, text["workflow"])
}

// nodeKeys returns the keys of data.nodes of a progress_state in order.
func nodeKeys(t *testing.T, msg []byte) []string {
	t.Helper()
	var m struct {
		Data struct {
			Nodes json.RawMessage `json:"nodes"`
		} `json:"data"`
	}
	if err := json.Unmarshal(msg, &m); err != nil {
		t.Fatal(err)
	}
	return historyKeys(t, m.Data.Nodes)
}

// pngTextChunks reads the tEXt chunks of a PNG.
func pngTextChunks(data []byte) map[string]string {
	out := map[string]string{}
	for pos := 8; pos+12 <= len(data); {
		n := int(binary.BigEndian.Uint32(data[pos:]))
		if pos+12+n > len(data) {
			break
		}
		if string(data[pos+4:pos+8]) == "tEXt" {
			k, v, _ := bytes.Cut(data[pos+8:pos+8+n], []byte{0})
			out[string(k)] = string(v)
		}
		pos += 12 + n
	}
	return out
}
