package fidelity

import "net/url"

// Scenarios 01–06. Each function mirrors the capture tool's steps for the
// file of the same number; the golden file shows the real server's answers.

// scenario01: connect, reconnect with the same id, feature_flags, two live
// sockets with one clientId (the first is forgotten), a socket without
// clientId, GET /features.
func scenario01(s *session) {
	s.record()
	c1 := s.openClient("fixture-client-01", "fixture-client-01")
	c1.close()
	c2 := s.openClient("fixture-client-01#2", "fixture-client-01")
	c2.send(obj("type", "feature_flags", "data", obj("supports_preview_metadata", true)))
	c2.wait("feature_flags reply", isType("feature_flags"))
	c2.close()

	first := s.openClient("first", "fixture-client-01b")
	second := s.openClient("second", "fixture-client-01b")
	id := s.mustSubmit("", s.promptBody("text.json", "fixture-client-01b"))
	second.wait("end of run", finished(id))
	// The real server sent nothing more to the first socket; close()
	// records whatever the target sent it up to a ping round trip.
	first.close()
	second.close()

	anon := s.open("no-client-id", "/ws")
	anon.close()
	s.get("", "/features")
}

// scenario02: one prompt watched to completion, then its history.
func scenario02(s *session) {
	s.record()
	c := s.openClient("fixture-client-02", "fixture-client-02")
	id := s.mustSubmit("", s.promptBody("basic.json", "fixture-client-02"))
	c.wait("end of run", finished(id))
	s.get("", "/history/"+id)
	c.close()
}

// scenario03: the same prompt as 02 again, fully cached.
func scenario03(s *session) {
	s.runToEnd("basic.json", "fixture-client-02") // scenario 02
	s.record()
	c := s.openClient("fixture-client-03", "fixture-client-03")
	id := s.mustSubmit("", s.promptBody("basic.json", "fixture-client-03"))
	c.wait("end of run", finished(id))
	s.get("", "/history/"+id)
	c.close()
}

// scenario04: three slow prompts; the queue while one runs and two wait,
// after the first ends, and when idle; an observer socket sees only status.
func scenario04(s *session) {
	s.slow()
	s.record()
	c := s.openClient("fixture-client-04", "fixture-client-04")
	obs := s.openClient("observer", "fixture-observer-04")
	p1 := s.mustSubmit("", s.promptBody("slow-1.json", "fixture-client-04"))
	c.wait("prompt 1 in its slow node", executing(p1, "2"))
	w := c.during(p1)
	p2 := s.mustSubmit("", s.promptBody("slow-2.json", "fixture-client-04"))
	p3 := s.mustSubmit("", s.promptBody("slow-3.json", "fixture-client-04"))
	s.get("one running, two pending", "/queue")
	s.get("queue_remaining", "/prompt")
	w.end()
	c.wait("end of prompt 1", finished(p1))
	c.wait("prompt 2 in its slow node", executing(p2, "2"))
	w = c.during(p2)
	s.get("after first finished", "/queue")
	w.end()
	c.wait("end of prompt 3", finished(p3))
	s.get("idle", "/queue")
	obs.close()
	c.close()
}

// scenario05: /history listings over the prompts of scenarios 01–04.
func scenario05(s *session) {
	s.runToEnd("text.json", "fixture-client-01b")             // 01
	basic, _ := s.runToEnd("basic.json", "fixture-client-02") // 02
	s.runToEnd("basic.json", "fixture-client-03")             // 03, cached
	for _, wf := range []string{"slow-1.json", "slow-2.json", "slow-3.json"} {
		s.runToEnd(wf, "fixture-client-04") // 04
	}
	s.record()
	s.get("max_items=2", "/history?max_items=2")
	s.get("max_items=1&offset=0", "/history?max_items=1&offset=0")
	s.get("", "/history/"+basic)
	s.get("unknown id", "/history/"+unknownUUID)
	s.get("all", "/history")
}

// scenario06: /view of the results of 02 (SaveImage) and 17 (PreviewImage).
func scenario06(s *session) {
	basic, basicOut := s.runToEnd("basic.json", "fixture-client-02") // 02
	_, previewOut := s.runToEnd("preview.json", "fixture-client-17") // 17
	saved := s.image(basicOut, "4", 0)
	temp := s.image(previewOut, "4", 0)
	s.record()
	s.get("", "/history/"+basic)
	q := "filename=" + url.QueryEscape(saved.filename) + "&subfolder=" + url.QueryEscape(saved.subfolder) + "&type=output"
	s.get("output image", "/view?"+q)
	s.get("same with /api prefix", "/api/view?"+q)
	s.get("preview=webp;50", "/view?"+q+"&preview=webp;50")
	s.get("preview=jpeg;80", "/view?"+q+"&preview=jpeg;80")
	s.get("channel=rgb", "/view?"+q+"&channel=rgb")
	s.get("channel=a", "/view?"+q+"&channel=a")
	name := url.QueryEscape(saved.filename)
	s.get("missing subfolder param", "/view?filename="+name+"&type=output")
	s.get("no type (defaults to output), no subfolder", "/view?filename="+name)
	s.get("annotated filename 'name [output]'", "/view?filename="+name+"%20%5Boutput%5D&subfolder="+url.QueryEscape(saved.subfolder))
	s.get("missing file", "/view?filename=nope.png&type=output")
	s.get("PreviewImage result (type=temp)", "/view?filename="+url.QueryEscape(temp.filename)+"&subfolder=&type=temp")
}
