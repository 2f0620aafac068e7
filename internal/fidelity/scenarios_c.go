package fidelity

import (
	"encoding/json"
	"net/http"
	"strings"
)

// Scenarios 13–18.

// viewAttempts are scenario 13's /view requests; savedName stands for the
// SaveImage result of scenario 02 (basic_00001_.png on a fresh server).
var viewAttempts = []struct{ label, path string }{
	{"filename ../ relative", "/view?filename=../input/fixture-upload.png&type=output"},
	{"filename ../ url-encoded", "/view?filename=..%2Finput%2Ffixture-upload.png&type=output"},
	{"filename deep ../", "/view?filename=../../../../etc/passwd"},
	{"filename absolute", "/view?filename=/etc/passwd"},
	{"filename absolute encoded", "/view?filename=%2Fetc%2Fpasswd"},
	{"filename with subdir (basename taken)", "/view?filename=fixture/savedName&type=output"},
	{"filename backslash", "/view?filename=..%5C..%5Cetc%5Cpasswd"},
	{"subfolder ../", "/view?filename=fixture-upload.png&type=output&subfolder=../input"},
	{"subfolder absolute", "/view?filename=passwd&type=output&subfolder=/etc"},
	{"subfolder deep ../", "/view?filename=passwd&subfolder=../../../../../../etc"},
	{"type=bogus", "/view?filename=savedName&type=bogus"},
	{"type=input (allowed)", "/view?filename=fixture-upload.png&type=input"},
	{"annotated [input]", "/view?filename=fixture-upload.png%20%5Binput%5D"},
	{"annotated [input] with ../", "/view?filename=..%2Foutput%2Ffixture%2FsavedName%20%5Binput%5D"},
	{"empty filename", "/view?filename="},
	{"no filename param", "/view"},
	{"NUL byte", "/view?filename=a%00.png"},
	{"path traversal in URL path", "/view/../../etc/passwd"},
}

// scenario13: /view traversal and odd parameters, over the upload of 07 and
// the output of 02.
func scenario13(s *session) {
	s.upload("", filePart("image", "fixture-upload.png", pngA)) // 07
	_, out := s.runToEnd("basic.json", "fixture-client-02")     // 02
	saved := s.image(out, "4", 0)
	s.record()
	for _, v := range viewAttempts {
		s.get(v.label, strings.ReplaceAll(v.path, "savedName", saved.filename))
	}
}

// scenario14: a prompt that passes validation and fails at run time, twice.
func scenario14(s *session) {
	s.record()
	c := s.openClient("fixture-client-14", "fixture-client-14")
	s.upload("upload bytes that are not an image", filePart("image", "not-an-image.png", notAnImage))
	p1 := s.mustSubmit("", s.promptBody("runtime-error-load-broken-image.json", "fixture-client-14"))
	c.wait("end of run", finished(p1))
	s.get("", "/history/"+p1)
	p2 := s.mustSubmit("", s.promptBody("runtime-error-load-broken-image.json", "fixture-client-14"))
	c.wait("end of run", finished(p2))
	c.close()
}

// scenario15: the Host/Origin check, /api/prompt with a client-chosen
// prompt_id and extra_data, reusing that id, and queue order with an
// explicit number and front while a slow prompt runs.
func scenario15(s *session) {
	s.slow()
	// The capture's counter stood at 36 here, so its explicit number 7.5 was
	// below every counter-numbered prompt and ran before them. On a fresh
	// target 7.5 would sort after the first few; rejected bodies advance
	// ComfyUI's counter, so 36 of them recreate the capture's position.
	for range 36 {
		s.post("", "/prompt", []byte(`{}`))
	}
	s.record()
	const cid, chosen = "fixture-client-15", "fixture-0000-prompt-id-15"
	c := s.openClient(cid, cid)
	text := s.promptBody("text.json", cid)
	s.do(request{label: "foreign Origin with loopback Host -> 403", method: http.MethodPost, path: "/prompt",
		body: text, contentType: "application/json", origin: "http://evil.example"})
	s.do(request{label: "foreign Origin on GET -> 403 too", method: http.MethodGet, path: "/queue", origin: "http://evil.example:8188"})
	s.do(request{label: "matching Origin -> 200", method: http.MethodGet, path: "/queue", origin: "http://" + s.host})
	s.do(request{label: "non-loopback Host: not checked -> 200", method: http.MethodGet, path: "/queue",
		origin: "http://gateway.example", host: "gateway.example"})

	r := s.do(request{label: "/api/prompt with client-chosen prompt_id and extra_data", method: http.MethodPost, path: "/api/prompt",
		body: s.promptBody("text.json", cid, "prompt_id", chosen, "extra_data", obj("note", "anything")), contentType: "application/json"})
	if r.status != http.StatusOK {
		s.abortf("/api/prompt with a chosen prompt_id was refused")
	}
	c.wait("end of run", finished(chosen))
	s.get("", "/api/history/"+chosen)
	s.mustSubmit("reusing a prompt_id is accepted", s.promptBody("text.json", cid, "prompt_id", chosen))
	c.wait("end of the re-run", finished(chosen))

	slow := s.mustSubmit("slow, runs first", s.promptBody("derived/15-slow.json", cid))
	c.wait("slow prompt in its slow node", executing(slow, "2"))
	w := c.during(slow)
	a := s.mustSubmit("A normal", s.promptBody("derived/15-a.json", cid))
	s.mustSubmit("B explicit number=7.5", s.promptBody("derived/15-b.json", cid, "number", json.Number("7.5")))
	s.mustSubmit("C front=true", s.promptBody("derived/15-c.json", cid, "front", true))
	s.get("pending list is the raw heap, not sorted", "/queue")
	w.end()
	c.wait("end of A, which runs last", finished(a))
	c.close()
}

// scenario16: a prompt without client_id, seen from a socket with another id.
func scenario16(s *session) {
	s.record()
	c := s.openClient("fixture-client-16", "fixture-client-16")
	id := s.mustSubmit("", s.promptBody("derived/16-no-client.json", ""))
	// No executing/execution_* reach anyone for such a prompt; the run's end
	// shows as the status broadcast back to an empty queue.
	c.wait("queue empty again", queueRemaining(0))
	s.get("", "/history/"+id)
	c.close()
}

// scenario17: PreviewImage on a batch of two, then /view of a temp file.
func scenario17(s *session) {
	s.record()
	c := s.openClient("fixture-client-17", "fixture-client-17")
	id := s.mustSubmit("", s.promptBody("preview.json", "fixture-client-17"))
	c.wait("end of run", finished(id))
	r := s.get("", "/history/"+id)
	entry, _ := r.json()[id].(map[string]any)
	out, _ := entry["outputs"].(map[string]any)
	temp := s.image(out, "4", 0)
	s.get("temp image", "/view?filename="+temp.filename+"&subfolder=&type=temp")
	c.close()
}

// scenario18: other endpoints a gateway may proxy.
func scenario18(s *session) {
	s.record()
	for _, p := range []string{"/prompt", "/embeddings", "/models", "/models/checkpoints", "/extensions", "/api/features", "/internal/logs", "/", "/nonexistent"} {
		s.get("", p)
	}
	s.post("", "/free", mustJSON(obj("unload_models", true, "free_memory", true)))
	s.post("history delete unknown", "/history", mustJSON(obj("delete", []any{"no-such-id"})))
	s.do(request{label: "wrong method", method: http.MethodDelete, path: "/prompt"})
	s.post("malformed JSON to /queue", "/queue", []byte("{"))
}
