package fidelity

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// maxBody bounds what the harness reads of one response.
const maxBody = 32 << 20

// session drives one scenario against one target and records its traffic.
type session struct {
	ctx       context.Context
	opts      Options
	target    Target
	host      string // host:port of BaseURL
	client    *http.Client
	workflows *workflowSet
	want      golden

	recording bool
	discard   bool  // the attempt is void: close sockets without settling
	counted   int64 // prompts the server counted during the setup
	raw       Raw
	sockets   []*socket // every socket opened, for cleanup
}

// abort ends a scenario early; runScenario recovers it and still compares
// what was recorded so far.
type abort struct{ err error }

func (s *session) abortf(format string, args ...any) {
	panic(abort{fmt.Errorf(format, args...)})
}

// record starts the part of the scenario that is compared. Everything
// before it is setup.
func (s *session) record() {
	s.recording = true
	s.raw.NumberBase = s.counted
}

// request describes one HTTP request of a scenario.
type request struct {
	label, method, path string
	body                []byte // nil: no body
	contentType         string
	origin              string // Origin header, "" for none
	host                string // Host header override, "" for the target's
	parts               []formPart
}

// formPart is a multipart field; a part with a filename is a file.
type formPart struct {
	name, value           string
	filename, contentType string
	data                  []byte
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes a JSON object body, or returns nil.
func (r response) json() map[string]any {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.UseNumber()
	if dec.Decode(&m) != nil {
		return nil
	}
	return m
}

func (s *session) do(rq request) response {
	body, ctype := rq.body, rq.contentType
	if len(rq.parts) > 0 && ctype == "" {
		body, ctype = encodeMultipart(rq.parts)
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(s.ctx, rq.method, s.target.BaseURL+rq.path, rd)
	if err != nil {
		s.abortf("build %s %s: %v", rq.method, rq.path, err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if rq.origin != "" {
		req.Header.Set("Origin", rq.origin)
	}
	if rq.host != "" {
		req.Host = rq.host
	}
	resp, rerr := s.send(req)
	if !s.recording {
		if rq.method == http.MethodPost && routeOf(rq.path) == "/prompt" {
			s.counted++
		}
		return resp
	}
	ex := RawExchange{Label: rq.label, Method: rq.method, Path: rq.path, Multipart: rawParts(rq.parts)}
	if rq.origin != "" || rq.host != "" {
		ex.Headers = map[string]string{}
		if rq.origin != "" {
			ex.Headers["Origin"] = rq.origin
		}
		if rq.host != "" {
			ex.Headers["Host"] = rq.host
		}
	}
	if body != nil && len(rq.parts) == 0 && len(body) > 0 {
		b := string(body)
		ex.Body = &b
	}
	ex.Response = rawResponse(resp, rerr)
	s.raw.HTTP = append(s.raw.HTTP, ex)
	return resp
}

func (s *session) send(req *http.Request) (response, error) {
	resp, err := s.client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return response{}, fmt.Errorf("read body: %w", err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

func rawResponse(r response, err error) RawResponse {
	if err != nil {
		return RawResponse{Error: err.Error()}
	}
	out := RawResponse{Status: r.status}
	for k, vs := range r.header {
		for _, v := range vs {
			out.Headers = append(out.Headers, [2]string{k, v})
		}
	}
	if len(r.body) == 0 {
		return out
	}
	ct := r.header.Get("Content-Type")
	if (strings.HasPrefix(ct, "application/json") || strings.HasPrefix(ct, "text/")) && utf8.Valid(r.body) {
		b := string(r.body)
		out.Body = &b
		return out
	}
	out.Binary = binaryInfo(r.body)
	return out
}

func rawParts(parts []formPart) []RawPart {
	var out []RawPart
	for _, p := range parts {
		if p.filename == "" {
			v := p.value
			out = append(out, RawPart{Name: p.name, Value: &v})
			continue
		}
		bi := binaryInfo(p.data)
		out = append(out, RawPart{Name: p.name, Filename: p.filename, ContentType: p.contentType,
			SHA256: bi.SHA256, First8Hex: bi.First8Hex, Length: bi.Length})
	}
	return out
}

func encodeMultipart(parts []formPart) ([]byte, string) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, p := range parts {
		if p.filename == "" {
			_ = w.WriteField(p.name, p.value) // writes to a bytes.Buffer cannot fail
			continue
		}
		h := make(map[string][]string)
		h["Content-Disposition"] = []string{fmt.Sprintf(`form-data; name=%q; filename=%q`, p.name, p.filename)}
		h["Content-Type"] = []string{p.contentType}
		pw, _ := w.CreatePart(h)
		_, _ = pw.Write(p.data)
	}
	_ = w.Close()
	return b.Bytes(), w.FormDataContentType()
}

// get and post are the plain request forms most steps use.
func (s *session) get(label, path string) response {
	return s.do(request{label: label, method: http.MethodGet, path: path})
}

func (s *session) post(label, path string, body []byte) response {
	ct := ""
	if body != nil {
		ct = "application/json"
	}
	return s.do(request{label: label, method: http.MethodPost, path: path, body: body, contentType: ct})
}

// submit posts a /prompt body and returns the prompt id it was given ("" if
// the target refused it).
func (s *session) submit(label string, body []byte) string {
	r := s.post(label, "/prompt", body)
	id, _ := r.json()["prompt_id"].(string)
	return id
}

// promptBody builds {"prompt": <workflow>, "client_id": ..., extra...}.
// An empty clientID leaves client_id out, as scenario 16 needs.
func (s *session) promptBody(workflow, clientID string, extra ...any) []byte {
	kv := []any{"prompt", s.workflows.get(workflow)}
	if clientID != "" {
		kv = append(kv, "client_id", clientID)
	}
	return mustJSON(obj(append(kv, extra...)...))
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("fidelity: " + err.Error())
	}
	return b
}

// historyOutputs fetches a finished prompt's outputs during setup.
func (s *session) historyOutputs(id string) map[string]any {
	r := s.get("", "/history/"+url.PathEscape(id))
	entry, _ := r.json()[id].(map[string]any)
	out, _ := entry["outputs"].(map[string]any)
	if out == nil {
		s.abortf("setup: history of %s has no outputs: %s", id, r.body)
	}
	return out
}

// slow sets the ImageBlur delay the timing scenarios rely on.
func (s *session) slow() {
	if s.target.Control.SetNodeDelay == nil {
		s.abortf("target has no Controls.SetNodeDelay; this scenario needs slow ImageBlur nodes")
	}
	if err := s.target.Control.SetNodeDelay(s.ctx, "ImageBlur", s.opts.SlowDelay); err != nil {
		s.abortf("set ImageBlur delay: %v", err)
	}
}
