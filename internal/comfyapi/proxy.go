package comfyapi

import (
	"context"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"

	"github.com/comfygate/comfygate/internal/gateway"
	"github.com/comfygate/comfygate/internal/job"
)

// tenantPrivate are routes of a backend that show or change state every
// caller would share (server logs and paths, user settings and files).
// With API keys on they are not passed through.
var tenantPrivate = []string{"/internal/", "/experiment/models", "/userdata", "/v2/userdata", "/users", "/settings"}

type backendKey struct{}

// newProxy passes routes this surface does not know (custom nodes add
// their own, and the ComfyUI frontend's static files) to a healthy
// backend, for the callers the use cases let through (with API keys on:
// admin keys, and other keys on the routes the server opened to them).
// Origin is dropped (the backend's own origin check would refuse a
// browser's), as are comfygate's credentials; bodies stay within
// MaxUploadBytes.
func newProxy(h *Handler) http.Handler {
	rp := &httputil.ReverseProxy{
		Transport: h.cfg.HTTPClient.Transport,
		Rewrite: func(pr *httputil.ProxyRequest) {
			b, _ := pr.In.Context().Value(backendKey{}).(gateway.Backend)
			target, err := url.Parse(b.URL)
			if err != nil {
				return
			}
			pr.SetURL(target)
			pr.Out.Host = target.Host
			for _, k := range []string{"Origin", "Authorization", "X-Api-Key", "Cookie"} {
				pr.Out.Header.Del(k)
			}
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			h.respond(w, r, &badGateway{err})
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route := strings.TrimPrefix(r.URL.Path, "/api")
		if h.cfg.multiTenant() {
			for _, p := range tenantPrivate {
				if strings.HasPrefix(route, p) {
					h.respond(w, r, errRouteNotFound)
					return
				}
			}
		}
		if err := h.gw.ProxyAllowed(ownerOf(r), r.URL.EscapedPath()); err != nil {
			h.respond(w, r, err)
			return
		}
		b, err := h.healthyBackend(r.Context())
		if err != nil {
			h.respond(w, r, err)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, h.cfg.MaxUploadBytes)
		rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), backendKey{}, b)))
	})
}

// viewOnBackend serves an output whose job is not finalized yet from the
// backend that wrote it (a client that fetches on "executed", as the
// ComfyUI frontend does), under the name the caller knows.
func (h *Handler) viewOnBackend(c *call, f *job.ComfyFile, q viewQuery) error {
	b, ok := h.backend(c.r.Context(), f.Backend)
	if !ok {
		return statusOnly(http.StatusNotFound)
	}
	req, err := http.NewRequestWithContext(c.r.Context(), http.MethodGet, viewURL(b.URL, f, q), nil)
	if err != nil {
		return statusOnly(http.StatusNotFound)
	}
	if rg := c.r.Header.Get("Range"); rg != "" {
		req.Header.Set("Range", rg)
	}
	resp, err := h.cfg.HTTPClient.Do(req)
	if err != nil {
		return statusOnly(http.StatusNotFound)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusPartialContent {
		return statusOnly(http.StatusNotFound)
	}
	hd := c.w.Header()
	for _, k := range []string{"Content-Type", "Content-Length", "Content-Range", "Accept-Ranges", "Last-Modified"} {
		if v := resp.Header.Get(k); v != "" {
			hd.Set(k, v)
		}
	}
	hd.Set("Content-Disposition", contentDisposition(q.name))
	hd.Set("X-Content-Type-Options", "nosniff")
	c.w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(c.w, resp.Body)
	return nil
}
