package comfywire

import (
	"io"
	"net/http"
	"strconv"

	"github.com/comfygate/comfygate/workflow"
)

// aiohttp's content types.
const (
	ContentJSON  = "application/json; charset=utf-8"
	ContentText  = "text/plain; charset=utf-8"
	ContentEmpty = "application/octet-stream"
)

// WriteJSONBytes answers with an encoded JSON body, as web.json_response
// does.
func WriteJSONBytes(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", ContentJSON)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// WriteEmpty is web.Response(status=...): no body, octet-stream.
func WriteEmpty(w http.ResponseWriter, status int) {
	h := w.Header()
	h.Set("Content-Type", ContentEmpty)
	h.Set("Content-Length", "0")
	w.WriteHeader(status)
}

// WriteText answers with a plain-text body, as web.Response(text=...) does.
func WriteText(w http.ResponseWriter, status int, text string) {
	h := w.Header()
	h.Set("Content-Type", ContentText)
	h.Set("Content-Length", strconv.Itoa(len(text)))
	w.WriteHeader(status)
	_, _ = io.WriteString(w, text)
}

// NotFound is aiohttp's answer to a path no route knows.
func NotFound(w http.ResponseWriter) { WriteText(w, http.StatusNotFound, "404: Not Found") }

// InternalError is aiohttp's answer to an unhandled exception; ComfyUI
// gives it for malformed bodies, and clients expect exactly this text.
func InternalError(w http.ResponseWriter) {
	WriteText(w, http.StatusInternalServerError, workflow.InternalErrorBody)
}
