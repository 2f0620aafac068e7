package comfyapi

import (
	"net/http"
	"strings"

	"github.com/comfygate/comfygate/internal/comfywire"
)

// call is one request to a route: the request, the caller and the {name}
// path segments.
type call struct {
	w      http.ResponseWriter
	r      *http.Request
	owner  string
	params map[string]string
	done   []func() // run when the route returns
}

// onDone runs fn when the route has returned (and its error is answered).
func (c *call) onDone(fn func()) { c.done = append(c.done, fn) }

func (c *call) finish() {
	for _, fn := range c.done {
		fn()
	}
}

// handlerFunc is every route's shape: it writes its answer itself and
// returns a failure, which the router hands to respond, the one table that
// writes ComfyUI's error answers.
type handlerFunc func(c *call) error

// router is ComfyUI's routing as clients see it (comfywire.Router: 405 with
// Allow, no path cleaning) behind origin_only_middleware, with the caller
// resolved before a route runs. Unknown paths go to the fallback.
type router struct {
	h     *Handler
	wire  comfywire.Router
	serve http.Handler
}

func newRouter(h *Handler, fallback http.Handler) *router {
	rt := &router{h: h}
	rt.wire.NotFound = h.authed(fallback.ServeHTTP)
	rt.serve = comfywire.OriginOnly(&rt.wire, nil)
	return rt
}

// handle registers method+path and the same under /api; GET also answers
// HEAD, as aiohttp's routes do.
func (rt *router) handle(method, path string, fn handlerFunc) {
	h := func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		rt.h.authed(func(w http.ResponseWriter, r *http.Request) {
			c := &call{w: w, r: r, owner: ownerOf(r), params: params}
			defer c.finish()
			if err := fn(c); err != nil {
				rt.h.respond(w, r, err)
			}
		})(w, r)
	}
	if strings.HasPrefix(path, "/api/") {
		rt.wire.Handle(method, path, h) // declared with /api already (the jobs routes)
		return
	}
	rt.wire.HandleAPI(method, path, h)
}

// patterns are the http.ServeMux patterns of the routes, without methods
// (the router answers wrong methods itself, as ComfyUI does).
func (rt *router) patterns() []string { return rt.wire.Paths() }

func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) { rt.serve.ServeHTTP(w, r) }
