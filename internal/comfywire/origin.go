package comfywire

import (
	"net"
	"net/http"
	"net/url"
	"strings"
)

// OriginOnly is ComfyUI's origin_only_middleware, kept because it is what
// stops a web page on another origin from driving a server on localhost:
// with both Host and Origin present and a loopback Host, a differing
// Origin host gets an empty 403 (WebSocket upgrades included); OPTIONS gets
// an empty 200. onReject, when not nil, hears of each refusal.
func OriginOnly(next http.Handler, onReject func(r *http.Request, origin string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origins, ok := r.Header["Origin"]; ok && r.Host != "" && len(origins) > 0 {
			if originRejected(r.Host, origins[0]) {
				if onReject != nil {
					onReject(r, origins[0])
				}
				WriteEmpty(w, http.StatusForbidden)
				return
			}
		}
		if r.Method == http.MethodOptions {
			WriteEmpty(w, http.StatusOK)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func originRejected(host, origin string) bool {
	host = strings.ToLower(host)
	o, err := url.Parse(origin)
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

// isLoopback is ComfyUI's is_loopback without DNS: IP literals and
// "localhost" (which resolves to loopback everywhere).
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
