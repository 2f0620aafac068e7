package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/rs/cors"
)

// CORS returns a middleware that lets web pages on origins call every
// surface behind it (REST, event streams, the ComfyUI- and Flask-compatible
// routes) from a browser: preflights are answered (204) and actual answers
// carry Access-Control-Allow-Origin and the headers a client needs to read
// (Location, Retry-After, X-Request-Id, …). Any request header may be sent,
// Authorization and X-API-Key included.
//
// origins are full origins ("https://app.example.com",
// "http://localhost:5173"), patterns with one "*" ("https://*.example.com"),
// or "*" for any origin. With listed origins the answers also allow
// credentials; with "*" they do not (browsers refuse the two together), and
// a page sends its key in Authorization as usual.
//
// A request from an allowed origin reaches the handler without its Origin
// header: the ComfyUI surface refuses cross-origin requests on loopback
// (ComfyUI's origin_only_middleware) and WebSocket upgrades refuse foreign
// origins, and the operator has just said this origin is not foreign.
// With no origins, CORS returns next unchanged (no CORS at all).
func CORS(origins []string, next http.Handler) (http.Handler, error) {
	if len(origins) == 0 {
		return next, nil
	}
	for _, o := range origins {
		if err := checkOrigin(o); err != nil {
			return nil, err
		}
	}
	anyOrigin := slices.Contains(origins, "*")
	c := cors.New(cors.Options{
		AllowedOrigins:   origins,
		AllowedMethods:   []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch},
		AllowedHeaders:   []string{"*"},
		ExposedHeaders:   exposedHeaders,
		AllowCredentials: !anyOrigin,
		MaxAge:           600,
	})
	return c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Origin") != "" && c.OriginAllowed(r) {
			r.Header.Del("Origin")
		}
		next.ServeHTTP(w, r)
	})), nil
}

// exposedHeaders are the answer headers a cross-origin page may read.
var exposedHeaders = []string{"Location", "Retry-After", "X-Request-Id", "Idempotent-Replayed", "ETag",
	"Content-Range", "Accept-Ranges", "Content-Disposition", "Content-Length"}

// checkOrigin accepts "*", or scheme://host[:port] with at most one "*".
func checkOrigin(o string) error {
	if o == "*" {
		return nil
	}
	bad := func(why string) error {
		return fmt.Errorf("cors origin %q: %s (want e.g. https://app.example.com, https://*.example.com or *)", o, why)
	}
	if strings.Count(o, "*") > 1 {
		return bad("at most one *")
	}
	u, err := url.Parse(strings.Replace(o, "*", "x", 1))
	switch {
	case err != nil:
		return bad(err.Error())
	case u.Scheme != "http" && u.Scheme != "https":
		return bad("needs http:// or https://")
	case u.Host == "":
		return bad("needs a host")
	case u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return bad("an origin is scheme://host[:port], nothing more")
	}
	return nil
}
