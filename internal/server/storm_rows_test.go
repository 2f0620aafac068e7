package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/comfygate/comfygate/workflow"
)

// comfyUI500 lists where real ComfyUI 0.3.64 answers 500 (an exception
// its handler does not catch, which aiohttp turns into its plain-text
// 500), and so the ComfyUI-compatible surface may too. A storm request on
// that surface may get a 500 only if it names one of these rows, and then
// only ComfyUI's own plain-text body. The fidelity goldens
// (internal/fidelity/testdata) pin the rows they name.
var comfyUI500 = map[string]string{
	"not-json":       "POST /prompt, /queue, /history, /free: a body that is not JSON (or not UTF-8): await request.json() raises (10-invalid-prompts malformed-json, empty-body; 18-misc-endpoints malformed JSON to /queue)",
	"not-object":     "POST /prompt, /queue, /history, /free, /interrupt: a JSON body that is not an object: `\"clear\" in v`, v.get(...) or v[\"prompt\"] raise TypeError or AttributeError",
	"int-digits":     "any JSON body with an integer of more than 4300 digits: json.loads raises ValueError (CPython's int limit)",
	"not-utf8":       "any JSON route: a body that is not UTF-8: aiohttp's request.json() raises UnicodeDecodeError, which no handler catches (those that catch anything catch JSONDecodeError)",
	"number":         "POST /prompt: a \"number\" integer too large for a float: float() raises OverflowError",
	"prompt-shape":   "POST /prompt: \"prompt\" not an object (10-invalid-prompts prompt-is-list, -string, -null), or extra_data not an object beside client_id: validate_prompt and the extra_data update raise",
	"class-type":     "POST /prompt: a class_type that is a list or an object: the NODE_CLASS_MAPPINGS lookup raises TypeError (unhashable) outside validate_prompt's try",
	"delete":         "POST /queue, /history: \"delete\" that Python cannot iterate (a number, true, null), or, in /history, holding a list or object (dict.pop: unhashable)",
	"history-int":    "GET /history?max_items= or offset= that is not an integer: int() raises ValueError",
	"view-not-image": "GET /view?preview= or channel= of a stored file that is not an image: PIL raises UnidentifiedImageError",
	"upload-form":    "POST /upload/image, /upload/mask: a malformed multipart body (request.post() raises), an \"image\" field that is text (no .file), or a type ComfyUI does not know (UnboundLocalError)",
	"mask-ref":       "POST /upload/mask: original_ref that is not JSON, or has no filename: json.loads or the KeyError raises",
}

// httpServer5xx lists the 5xx that net/http answers itself, before any
// surface sees the request.
var httpServer5xx = map[string]string{
	"transfer-coding": "a Transfer-Encoding other than chunked: 501 Not Implemented, as RFC 9112 §6.1 asks of a server that does not understand a transfer coding",
	"http-version":    "a request line of an HTTP version other than 1.x: 505 HTTP Version Not Supported (RFC 9110 §15.6.6)",
}

// outcome is what the storm counts an answer under: its surface and its
// status class, or its exact status for a 5xx (net/http's own apart).
func outcome(r stormRequest, code int) string {
	switch {
	case r.raw != nil && (code == http.StatusNotImplemented || code == http.StatusHTTPVersionNotSupported):
		return fmt.Sprintf("net/http %d", code)
	case code >= 500:
		return fmt.Sprintf("%s %d", surfaceOf(r.path), code)
	}
	return fmt.Sprintf("%s %dxx", surfaceOf(r.path), code/100)
}

// judge returns what is wrong with an answer, or "".
func judge(r stormRequest, code int, body []byte) string {
	switch {
	case code <= 0:
		return "no answer: " + truncate(string(body), 200)
	case code < 500:
		return ""
	case r.raw != nil && httpServer5xx[r.allow] != "" && (code == http.StatusNotImplemented || code == http.StatusHTTPVersionNotSupported):
		return ""
	case surfaceOf(r.path) != surfaceComfy || r.raw != nil:
		return fmt.Sprintf("%d from the %s surface: %s", code, surfaceOf(r.path), truncate(string(body), 300))
	case code != http.StatusInternalServerError || comfyUI500[r.allow] == "":
		return fmt.Sprintf("%d where ComfyUI does not answer 500 (row %q): %s", code, r.allow, truncate(string(body), 300))
	case string(body) != workflow.InternalErrorBody:
		return fmt.Sprintf("500 with a body other than ComfyUI's: %s", truncate(string(body), 300))
	}
	return ""
}

// comfyRow tells under which comfyUI500 row ComfyUI raises on body sent to
// route, or "" where it answers otherwise.
func comfyRow(route string, body []byte) string {
	route = strings.TrimPrefix(route, "/api")
	raises := map[string]bool{"/prompt": true, "/queue": true, "/history": true, "/free": true}
	if !utf8.Valid(body) {
		return "not-utf8"
	}
	if !json.Valid(body) {
		if raises[route] {
			return "not-json"
		}
		return ""
	}
	if longInt(body) {
		return "int-digits"
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	_ = dec.Decode(&v)
	obj, isObj := v.(map[string]any)
	if !isObj {
		if raises[route] || route == "/interrupt" {
			return "not-object"
		}
		return ""
	}
	switch route {
	case "/prompt":
		return promptRow(obj)
	case "/queue", "/history":
		return deleteRow(route, obj)
	}
	return ""
}

func promptRow(obj map[string]any) string {
	if n, ok := obj["number"].(json.Number); ok && !strings.ContainsAny(string(n), ".eE") {
		if f, err := strconv.ParseFloat(string(n), 64); err != nil && math.IsInf(f, 0) {
			return "number"
		}
	}
	p, has := obj["prompt"]
	if !has {
		return ""
	}
	graph, ok := p.(map[string]any)
	if !ok {
		return "prompt-shape"
	}
	if _, hasClient := obj["client_id"]; hasClient {
		if extra, has := obj["extra_data"]; has {
			if _, ok := extra.(map[string]any); !ok {
				return "prompt-shape"
			}
		}
	}
	for _, n := range graph {
		node, ok := n.(map[string]any)
		if !ok {
			continue
		}
		switch node["class_type"].(type) {
		case []any, map[string]any:
			return "class-type"
		}
	}
	return ""
}

func deleteRow(route string, obj map[string]any) string {
	del, has := obj["delete"]
	if !has {
		return ""
	}
	switch d := del.(type) {
	case string, map[string]any:
		return ""
	case []any:
		if route == "/history" {
			for _, e := range d {
				switch e.(type) {
				case []any, map[string]any:
					return "delete"
				}
			}
		}
		return ""
	}
	return "delete"
}

// longInt reports an integer literal of more than 4300 digits.
func longInt(body []byte) bool {
	run := 0
	for _, b := range body {
		if b >= '0' && b <= '9' {
			if run++; run > 4300 {
				return true
			}
			continue
		}
		run = 0
	}
	return false
}
