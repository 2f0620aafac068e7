package comfywire

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// HandlerFunc is a route handler; params holds the {name} path segments.
type HandlerFunc func(w http.ResponseWriter, r *http.Request, params map[string]string)

type route struct {
	method  string
	path    string
	segs    []string
	handler HandlerFunc
}

// Router matches like aiohttp's UrlDispatcher, which clients of ComfyUI
// see: the first route whose path matches wins; a path known only with
// other methods answers 405 with Allow; a path that does not unescape
// answers "404: Not Found". It deliberately does not clean paths or
// redirect, as net/http's ServeMux would. The zero Router is ready to use.
type Router struct {
	// NotFound serves paths no route knows. Default: aiohttp's
	// "404: Not Found".
	NotFound http.Handler

	routes []route
}

// Handle registers method+path alone. GET routes also answer HEAD, as
// aiohttp's do.
func (rt *Router) Handle(method, path string, h HandlerFunc) {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	rt.routes = append(rt.routes, route{method: method, path: path, segs: segs, handler: h})
	if method == http.MethodGet {
		rt.routes = append(rt.routes, route{method: http.MethodHead, path: path, segs: segs, handler: h})
	}
}

// HandleAPI registers method+path and the same under /api, as ComfyUI does
// for every route of its main table.
func (rt *Router) HandleAPI(method, path string, h HandlerFunc) {
	rt.Handle(method, path, h)
	rt.Handle(method, "/api"+path, h)
}

// Paths lists the registered paths once each, in registration order.
func (rt *Router) Paths() []string {
	var out []string
	for _, r := range rt.routes {
		if !slices.Contains(out, r.path) {
			out = append(out, r.path)
		}
	}
	return out
}

func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	segs, ok := splitPath(r.URL.EscapedPath())
	if !ok {
		NotFound(w)
		return
	}
	var allowed []string
	for _, ro := range rt.routes {
		params, ok := match(ro.segs, segs)
		if !ok {
			continue
		}
		if ro.method == r.Method {
			ro.handler(w, r, params)
			return
		}
		if !slices.Contains(allowed, ro.method) {
			allowed = append(allowed, ro.method)
		}
	}
	if len(allowed) > 0 {
		slices.Sort(allowed)
		w.Header().Set("Allow", strings.Join(allowed, ","))
		WriteText(w, http.StatusMethodNotAllowed, "405: Method Not Allowed")
		return
	}
	if rt.NotFound != nil {
		rt.NotFound.ServeHTTP(w, r)
		return
	}
	NotFound(w)
}

// splitPath splits an escaped path into unescaped segments.
func splitPath(p string) ([]string, bool) {
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i, part := range parts {
		u, err := url.PathUnescape(part)
		if err != nil {
			return nil, false
		}
		parts[i] = u
	}
	return parts, true
}

func match(pattern, segs []string) (map[string]string, bool) {
	if len(pattern) != len(segs) {
		return nil, false
	}
	var params map[string]string
	for i, p := range pattern {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			if segs[i] == "" {
				return nil, false
			}
			if params == nil {
				params = map[string]string{}
			}
			params[p[1:len(p)-1]] = segs[i]
			continue
		}
		if p != segs[i] {
			return nil, false
		}
	}
	return params, true
}
