package fidelity

import "net/http"

// Scenarios 07–12.

// scenario07: uploads (new, duplicate, renamed, overwrite, subfolder, bad),
// the LoadImage combo, LoadImage workflows on the uploads, /view of input.
func scenario07(s *session) {
	s.record()
	c := s.openClient("fixture-client-07", "fixture-client-07")
	s.upload("new file", filePart("image", "fixture-upload.png", pngA))
	s.upload("same name, same bytes (deduplicated)", filePart("image", "fixture-upload.png", pngA))
	s.upload("same name, other bytes (renamed)", filePart("image", "fixture-upload.png", pngB))
	s.upload("overwrite=true", filePart("image", "fixture-upload.png", pngA), valuePart("overwrite", "true"))
	s.upload("subfolder + type=input", filePart("image", "in-sub.png", pngB), valuePart("subfolder", "fixture"), valuePart("type", "input"))
	s.upload("subfolder traversal", filePart("image", "evil.png", pngB), valuePart("subfolder", "../../"))
	// Without a file, the capture's client sent a urlencoded form.
	s.do(request{label: "no image field", method: http.MethodPost, path: "/upload/image",
		body: []byte("overwrite=true"), contentType: "application/x-www-form-urlencoded",
		parts: []formPart{valuePart("overwrite", "true")}})
	s.get("LoadImage combo now lists uploads", "/object_info/LoadImage")
	p1 := s.mustSubmit("", s.promptBody("load-image.json", "fixture-client-07"))
	c.wait("end of run", finished(p1))
	p2 := s.mustSubmit("LoadImage with subfolder path 'fixture/in-sub.png'", s.promptBody("load-image-subfolder.json", "fixture-client-07"))
	c.wait("end of run", finished(p2))
	s.get("view the uploaded input", "/view?filename=fixture-upload.png&type=input")
	c.close()
}

// scenario08: delete a pending prompt, the running one, an unknown id, then
// clear; the deleted prompt has no history.
func scenario08(s *session) {
	s.slow()
	s.record()
	c := s.openClient("fixture-client-08", "fixture-client-08")
	p1 := s.mustSubmit("", s.promptBody("derived/08-slow-a.json", "fixture-client-08"))
	c.wait("prompt 1 in its slow node", executing(p1, "2"))
	w := c.during(p1)
	p2 := s.mustSubmit("", s.promptBody("derived/08-slow-b.json", "fixture-client-08"))
	s.mustSubmit("", s.promptBody("derived/08-slow-c.json", "fixture-client-08"))
	s.get("before delete", "/queue")
	s.post("delete pending prompt", "/queue", mustJSON(obj("delete", []any{p2})))
	s.get("after delete", "/queue")
	s.post("delete the RUNNING prompt (no effect)", "/queue", mustJSON(obj("delete", []any{p1})))
	s.post("delete unknown id", "/queue", mustJSON(obj("delete", []any{"no-such-id"})))
	s.post("clear pending", "/queue", mustJSON(obj("clear", true)))
	s.get("after clear", "/queue")
	w.end()
	c.wait("end of prompt 1", finished(p1))
	s.get("deleted prompt has no history", "/history/"+p2)
	s.get("idle", "/queue")
	c.close()
}

// scenario09: a global interrupt while the first slow node runs, targeted
// interrupts (another id, then the running one), an idle interrupt with a
// non-JSON body, and a prompt that still runs afterwards.
func scenario09(s *session) {
	s.slow()
	s.record()
	c := s.openClient("fixture-client-09", "fixture-client-09")
	p1 := s.mustSubmit("", s.promptBody("slow-chain.json", "fixture-client-09"))
	c.wait("prompt 1 in its first slow node", executing(p1, "2"))
	// The interrupt must land while node 2 runs. A target may end the node
	// early once interrupted, so the window is checked before sending it.
	c.during(p1).end()
	s.post("global interrupt, empty body", "/interrupt", nil)
	c.wait("end of prompt 1", finished(p1))
	s.get("interrupted prompt in history", "/history/"+p1)

	p2 := s.mustSubmit("", s.promptBody("derived/09-slow-chain-b.json", "fixture-client-09"))
	c.wait("prompt 2 in its first slow node", executing(p2, "2"))
	w := c.during(p2)
	s.post("targeted interrupt of a prompt that is not running (ignored)", "/interrupt", mustJSON(obj("prompt_id", "not-running-id")))
	w.end()
	s.post("targeted interrupt", "/interrupt", mustJSON(obj("prompt_id", p2)))
	c.wait("end of prompt 2", finished(p2))

	s.do(request{label: "idle, non-JSON body", method: http.MethodPost, path: "/interrupt", body: []byte("not json")})
	p3 := s.mustSubmit("", s.promptBody("derived/09-small.json", "fixture-client-09"))
	c.wait("end of prompt 3", finished(p3))
	c.close()
}

// invalidBodies are the POST /prompt bodies of scenario 10, in capture
// order, by file name in testdata/workflows/invalid-bodies.
var invalidBodies = []string{
	"unknown-class-type.json", "missing-class-type.json", "missing-required-input.json",
	"link-to-missing-node.json", "link-to-missing-output-slot.json", "link-type-mismatch.json",
	"value-below-min.json", "value-not-in-combo-list.json", "value-wrong-type.json",
	"loadimage-missing-file.json", "no-output-node.json", "empty-prompt-object.json",
	"no-prompt-key.json", "prompt-is-list.json", "prompt-is-string.json", "prompt-is-null.json",
	"node-is-not-object.json", "body-is-json-array.json", "malformed-json.txt", "empty-body.txt",
}

// scenario10: rejected and odd POST /prompt bodies; the partly valid one
// runs and its history is fetched.
func scenario10(s *session) {
	s.record()
	c := s.openClient("fixture-client-10", "fixture-client-10")
	for _, name := range invalidBodies {
		label := name[:len(name)-len(".json")]
		body := invalidBody(name)
		if name[len(name)-4:] == ".txt" {
			label = name[:len(name)-len(".txt")]
			if len(body) == 0 {
				body = []byte{} // an empty body, not a missing one
			}
		} else {
			body = withClientID(body, "fixture-client-10")
		}
		s.post(label, "/prompt", body)
	}
	id := s.mustSubmit("one-output-valid-one-invalid",
		withClientID(invalidBody("one-output-valid-one-invalid.json"), "fixture-client-10"))
	c.wait("end of run", finished(id))
	s.get("history of the partially valid prompt", "/history/"+id)
	c.close()
}

// scenario11: system stats, with and without the /api prefix.
func scenario11(s *session) {
	s.record()
	s.get("", "/system_stats")
	s.get("/api prefix", "/api/system_stats")
}

// scenario12: one V1 node, one V3 node and an unknown node.
func scenario12(s *session) {
	s.record()
	s.get("", "/object_info/SaveImage")
	s.get("v3-schema node", "/object_info/ImageBlur")
	s.get("unknown node", "/object_info/NoSuchNode")
}
