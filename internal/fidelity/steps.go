package fidelity

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/url"
	"time"

	"github.com/comfygate/comfygate/comfy/comfyjson"
)

// mustSubmit is submit for prompts the scenario cannot go on without.
func (s *session) mustSubmit(label string, body []byte) string {
	id := s.submit(label, body)
	if id == "" {
		s.abortf("POST /prompt (%s) was not accepted", label)
	}
	return id
}

// client opens the socket of a capture client: /ws?clientId=<id>.
func (s *session) openClient(name, clientID string) *socket {
	return s.open(name, "/ws?clientId="+url.QueryEscape(clientID))
}

// runToEnd submits a workflow for clientID and waits for the end of its run,
// as the capture tool did for every prompt of an earlier scenario that a
// later one depends on. Used in setups; returns the id and its outputs.
//
// The end is read from /history, not from the socket: setups reopen one
// client id right after closing it, and ComfyUI (so the simulator too) lets
// the old socket's cleanup unregister the new one, whose events then never
// come. The socket is still opened, as the capture tool's was.
func (s *session) runToEnd(workflow, clientID string) (string, map[string]any) {
	sk := s.openClient(clientID+" (setup)", clientID)
	id := s.mustSubmit("", s.promptBody(workflow, clientID))
	s.waitHistory(id)
	sk.close()
	return id, s.historyOutputs(id)
}

// waitHistory polls /history/{id} until the prompt's entry is there (ComfyUI
// writes it when the run ends), up to Options.WaitTimeout.
func (s *session) waitHistory(id string) {
	ctx, cancel := context.WithTimeout(s.ctx, s.opts.WaitTimeout)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, ok := s.get("", "/history/"+url.PathEscape(id)).json()[id]; ok {
			return
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			s.abortf("setup: no history entry for %s within %s", id, s.opts.WaitTimeout)
		}
	}
}

// fileRef is one entry of a node's "images" output.
type fileRef struct{ filename, subfolder, typ string }

// image returns output node's i-th image, aborting if there is none.
func (s *session) image(outputs map[string]any, node string, i int) fileRef {
	out, _ := outputs[node].(map[string]any)
	imgs, _ := out["images"].([]any)
	if i >= len(imgs) {
		s.abortf("outputs of node %s have no image %d: %v", node, i, outputs)
	}
	m, _ := imgs[i].(map[string]any)
	str := func(k string) string { v, _ := m[k].(string); return v }
	return fileRef{str("filename"), str("subfolder"), str("type")}
}

// upload posts a multipart form to /upload/image.
func (s *session) upload(label string, parts ...formPart) response {
	return s.do(request{label: label, method: http.MethodPost, path: "/upload/image", parts: parts})
}

func filePart(name, filename string, data []byte) formPart {
	return formPart{name: name, filename: filename, contentType: "image/png", data: data}
}

func valuePart(name, value string) formPart { return formPart{name: name, value: value} }

// Upload contents. The capture used two different 101-byte PNGs (a and b)
// and a text file named .png; their bytes are not in the capture (only
// hashes), so the harness makes its own and compares uploads by identity
// (<B:http[0].multipart[0]> is "the same bytes as the first upload").
var (
	pngA        = tinyPNG(color.NRGBA{R: 0x33, G: 0x66, B: 0x99, A: 0xff})
	pngB        = tinyPNG(color.NRGBA{R: 0x99, G: 0x33, B: 0x66, A: 0xff})
	notAnImage  = []byte("this is not a png file\n")
	unknownUUID = "00000000-0000-0000-0000-000000000000"
)

func tinyPNG(c color.Color) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, 4, 4))
	for y := range 4 {
		for x := range 4 {
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic("fidelity: " + err.Error())
	}
	return b.Bytes()
}

// withClientID adds client_id to a JSON object body that has none, as the
// capture tool did for the invalid bodies; other bodies are sent verbatim.
func withClientID(body []byte, clientID string) []byte {
	v, err := comfyjson.Decode(body)
	o, ok := v.(comfyjson.Object)
	if err != nil || !ok {
		return body
	}
	if _, has := o.Get("client_id"); !has {
		o.Set("client_id", clientID)
	}
	return mustJSON(o)
}
