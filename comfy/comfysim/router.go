package comfysim

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// handlerFunc is a route handler; params holds the {name} path segments.
type handlerFunc func(w http.ResponseWriter, r *http.Request, params map[string]string)

type route struct {
	method  string
	segs    []string
	handler handlerFunc
}

// router matches like aiohttp's UrlDispatcher: the first resource whose
// path matches wins; a resource matching with another method gives 405
// with an Allow header; nothing matching gives "404: Not Found". It
// deliberately does not clean paths or redirect, as net/http's ServeMux
// would.
type router struct {
	routes []route
}

// handle registers method+path, and the same under /api when api is true.
// GET routes also answer HEAD, as aiohttp's do.
func (rt *router) handle(method, path string, api bool, h handlerFunc) {
	paths := []string{path}
	if api {
		paths = append(paths, "/api"+path)
	}
	for _, p := range paths {
		segs := strings.Split(strings.TrimPrefix(p, "/"), "/")
		rt.routes = append(rt.routes, route{method: method, segs: segs, handler: h})
		if method == http.MethodGet {
			rt.routes = append(rt.routes, route{method: http.MethodHead, segs: segs, handler: h})
		}
	}
}

func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	segs, ok := splitPath(r.URL.EscapedPath())
	if !ok {
		notFound(w)
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
		writeText(w, http.StatusMethodNotAllowed, "405: Method Not Allowed")
		return
	}
	notFound(w)
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
