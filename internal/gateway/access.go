package gateway

import (
	"fmt"
	"net/url"
	"path"
	"strings"
)

// Who may do what. Callers are API key ids ("owner"); "" is the caller
// when authentication is off, and then everyone is the admin. With
// authentication on, a surface always names the key, so "" never stands
// for a request.

// Access knows which keys are admins' and shows each owner what it may
// read. The Service has one (from Config.Admins); a part that renders jobs
// for their owners outside the use cases (the webhook sender, which starts
// before them) makes its own from the same key list with NewAccess.
type Access struct {
	admins map[string]bool
}

// NewAccess is the access of the admin key ids given.
func NewAccess(admins []string) Access {
	a := Access{admins: make(map[string]bool, len(admins))}
	for _, id := range admins {
		a.admins[id] = true
	}
	return a
}

// IsAdmin reports whether owner acts with an admin key: admins write the
// shared workflows, read error texts in full, and reach every backend
// route through the ComfyUI-compatible surface's proxy.
func (a Access) IsAdmin(owner string) bool {
	return owner == "" || a.admins[owner]
}

// ProxyAllowed says whether owner may reach a backend route comfygate
// does not serve itself (a custom node's, the ComfyUI frontend's files):
// admins may reach any; other keys only those under a prefix of
// Config.ProxyAllow. escapedPath is the request's path as sent (ComfyUI
// serves every route again under /api, so "/api/x" is "/x" here). The
// refusal is a ForbiddenError naming the route and how to open it.
func (s *Service) ProxyAllowed(owner, escapedPath string) error {
	if s.IsAdmin(owner) {
		return nil
	}
	route, ok := proxyRoute(escapedPath)
	if ok {
		for _, p := range s.cfg.ProxyAllow {
			if underPrefix(route, p) {
				return nil
			}
		}
	}
	return &ForbiddenError{Message: fmt.Sprintf("route %s is a backend's own and closed to this API key: "+
		"only admin keys reach backend routes comfygate does not serve, unless the server opens them with --proxy-allow PREFIX", shown(escapedPath))}
}

// proxyRoute is the route a path reaches on a backend, without the /api
// prefix. ok is false for a path that a backend could read as another
// route: dot segments, doubled or encoded slashes and dots, backslashes.
func proxyRoute(escapedPath string) (string, bool) {
	lower := strings.ToLower(escapedPath)
	for _, bad := range []string{"%2f", "%5c", "%2e", "\\", "//"} {
		if strings.Contains(lower, bad) {
			return "", false
		}
	}
	p, err := url.PathUnescape(escapedPath)
	if err != nil || !strings.HasPrefix(p, "/") {
		return "", false
	}
	if clean := path.Clean(p); clean != strings.TrimSuffix(p, "/") && clean != p {
		return "", false
	}
	if rest, ok := strings.CutPrefix(p, "/api/"); ok {
		p = "/" + rest
	}
	return p, true
}

// underPrefix reports whether route is prefix or lies in its subtree:
// "/sim" covers "/sim" and "/sim/faults", never "/simx".
func underPrefix(route, prefix string) bool {
	prefix = strings.TrimSuffix(prefix, "/")
	if prefix == "" {
		return true
	}
	return route == prefix || strings.HasPrefix(route, prefix+"/")
}

// CheckProxyPrefix validates a --proxy-allow value: an absolute path
// prefix without dot segments, queries or encodings.
func CheckProxyPrefix(p string) error {
	route, ok := proxyRoute(p)
	switch {
	case !ok || route != p || strings.ContainsAny(p, "?#%"):
		return fmt.Errorf("proxy prefix %q: want a plain absolute path such as /my_node (no /api, dots, encodings or queries)", p)
	case p == "/":
		return fmt.Errorf("proxy prefix %q would open every backend route; name the routes to open", p)
	}
	return nil
}

// shown bounds a caller's path quoted back in a message.
func shown(p string) string {
	const max = 200
	if len(p) > max {
		return p[:max] + "…"
	}
	return p
}
