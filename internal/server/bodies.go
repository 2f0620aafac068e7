package server

import (
	"context"
	"net/http"

	"github.com/comfygate/comfygate/internal/bodydeadline"
)

// limitBodies puts every request body under the body deadlines (package
// bodydeadline), on every surface. A body cut off gives up the request as
// if its client had gone (its context is cancelled, and the surfaces say
// nothing); unless the handler answered already, the client gets a 408
// and the connection is closed. A body the handler left unread is not
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
		r = r.WithContext(ctx)
		r.Body = b
		aw := &answerWatch{ResponseWriter: w}
		next.ServeHTTP(aw, r)
		b.StopReading()
		if b.Expired() && !aw.answered {
			w.Header().Set("Connection", "close")
			http.Error(w, "408 Request Timeout: the request body stopped arriving", http.StatusRequestTimeout)
		}
	})
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
