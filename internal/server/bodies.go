package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/comfygate/comfygate/internal/bodydeadline"
)

// limitBodies puts every request body under the body deadlines (package
// bodydeadline), on every surface. A body cut off gives up the request as
// if its client had gone (its context is cancelled, and the surfaces say
// nothing); unless the handler answered already, the client gets a 408
// and the connection is closed. So does a body whose framing is broken (a
// bad chunk, a connection closed early): a 400, the client's fault and
// not a failure of the surface. A body the handler left unread is not
// read after it (see bodydeadline.Body.StopReading): its connection is
// closed after the answer. Requests without a body (SSE, WebSocket
// upgrades, downloads) are left alone.
func limitBodies(next http.Handler, lim bodydeadline.Limits) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		b := bodydeadline.Wrap(w, r, lim, cancel)
		fb := &framedBody{ReadCloser: b, cancel: cancel}
		r = r.WithContext(ctx)
		r.Body = fb
		aw := &answerWatch{ResponseWriter: w}
		next.ServeHTTP(aw, r)
		b.StopReading()
		switch {
		case aw.answered:
		case b.Expired():
			w.Header().Set("Connection", "close")
			http.Error(w, "408 Request Timeout: the request body stopped arriving", http.StatusRequestTimeout)
		case fb.broken != nil:
			w.Header().Set("Connection", "close")
			http.Error(w, "400 Bad Request: the request body is malformed: "+fb.broken.Error(), http.StatusBadRequest)
		}
	})
}

// errBrokenBody is a body whose framing failed. Like an expired body it
// wraps context.Canceled: the request is given up as if its client had
// gone.
var errBrokenBody = fmt.Errorf("request body broken: %w", context.Canceled)

// framedBody gives up the request when reading the body fails for any
// reason but its end or its deadline (which bodydeadline handles).
type framedBody struct {
	io.ReadCloser
	cancel func()
	broken error
}

func (f *framedBody) Read(p []byte) (int, error) {
	n, err := f.ReadCloser.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bodydeadline.ErrExpired) {
		if f.broken == nil {
			f.broken = err
			f.cancel()
		}
		return n, fmt.Errorf("%w: %w", errBrokenBody, err)
	}
	return n, err
}

// answerWatch notes whether a handler started its answer.
type answerWatch struct {
	http.ResponseWriter
	answered bool
}

func (a *answerWatch) WriteHeader(code int) {
	a.answered = true
	a.ResponseWriter.WriteHeader(code)
}

func (a *answerWatch) Write(p []byte) (int, error) {
	a.answered = true
	return a.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection (flushes,
// deadlines, hijacks).
func (a *answerWatch) Unwrap() http.ResponseWriter { return a.ResponseWriter }
