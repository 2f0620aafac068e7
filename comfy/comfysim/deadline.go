package comfysim

import (
	"context"
	"net/http"

	"github.com/comfygate/comfygate/internal/bodydeadline"
)

// A request body must keep arriving (see package bodydeadline): each read
// of a body may wait at most ReadTimeout, and the whole body must average
// MinBodyRate after its first ReadTimeout, so a large upload over a slow
// but honest link still gets through. A client cut off gets no answer:
// the connection is closed, as a proxy in front of ComfyUI would.

type bodyDeadlineKey struct{}

// limitBodies installs the body deadlines on every request with a body.
func (s *Server) limitBodies(next http.Handler) http.Handler {
	lim := bodydeadline.Limits{Timeout: s.opts.readTimeout(), MinRate: s.opts.minBodyRate()}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		b := bodydeadline.Wrap(w, r, lim, nil)
		r.Body = b
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), bodyDeadlineKey{}, b)))
	})
}

// bodyTimedOut reports whether r's body was cut off by its deadline.
func bodyTimedOut(r *http.Request) bool {
	b, ok := r.Context().Value(bodyDeadlineKey{}).(*bodydeadline.Body)
	return ok && b.Expired()
}

// dropConn closes the client's connection without an answer.
func dropConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // net/http's own way to drop a connection
	}
	_ = conn.Close()
}
