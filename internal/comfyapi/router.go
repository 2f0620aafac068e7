package comfyapi

import (
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// call is one request to a route: the request, the caller and the {name}
// path segments.
type call struct {
	w      http.ResponseWriter
	r      *http.Request
	owner  string
	params map[string]string
}

type handlerFunc func(c *call)

type route struct {
	method  string
	path    string
	segs    []string
	handler handlerFunc
}

// router matches like aiohttp's UrlDispatcher, which clients of ComfyUI
// see: a path known with another method answers 405 with Allow, and it
// never cleans paths or redirects (as net/http's ServeMux would). Unknown
// paths go to fallback.
type router struct {
	h        *Handler
	routes   []route
	fallback http.Handler
}

// handle registers method+path and the same under /api; GET also answers
// HEAD, as aiohttp's routes do.
func (rt *router) handle(method, path string, fn handlerFunc) {
	for _, p := range []string{path, "/api" + path} {
		if strings.HasPrefix(path, "/api/") && p != path {
			continue // declared with /api already (the jobs routes)
		}
		segs := strings.Split(strings.TrimPrefix(p, "/"), "/")
		rt.routes = append(rt.routes, route{method: method, path: p, segs: segs, handler: fn})
		if method == http.MethodGet {
			rt.routes = append(rt.routes, route{method: http.MethodHead, path: p, segs: segs, handler: fn})
		}
	}
}

// patterns are the http.ServeMux patterns of the routes, without methods
// (the router answers wrong methods itself, as ComfyUI does).
func (rt *router) patterns() []string {
	var out []string
	for _, r := range rt.routes {
		if !slices.Contains(out, r.path) {
			out = append(out, r.path)
		}
	}
	return out
}

func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if originRejected(r) {
		writeEmpty(w, http.StatusForbidden)
		return
	}
	if r.Method == http.MethodOptions {
		writeEmpty(w, http.StatusOK)
		return
	}
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
			rt.h.authed(func(w http.ResponseWriter, r *http.Request) {
				ro.handler(&call{w: w, r: r, owner: ownerOf(r), params: params})
			})(w, r)
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
	rt.h.authed(rt.fallback.ServeHTTP)(w, r)
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

// originRejected is ComfyUI's origin_only_middleware, kept because it is
// what stops a web page on another origin from driving a server on
// localhost: with a loopback Host, an Origin naming another host is refused.
func originRejected(r *http.Request) bool {
	origins, ok := r.Header["Origin"]
	if !ok || r.Host == "" || len(origins) == 0 {
		return false
	}
	host := strings.ToLower(r.Host)
	o, err := url.Parse(origins[0])
	if err != nil {
		return false
	}
	h, err := url.Parse("//" + host)
	if err != nil {
		return false
	}
	hostDomain, originDomain := host, strings.ToLower(o.Host)
	if o.Port() == "" {
		hostDomain = h.Hostname()
	}
	if h.Port() == "" {
		originDomain = strings.ToLower(o.Hostname())
	}
	if !isLoopback(h.Hostname()) || hostDomain == "" || originDomain == "" {
		return false
	}
	return hostDomain != originDomain
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
