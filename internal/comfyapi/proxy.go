package comfyapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"

	"github.com/comfygate/comfygate/internal/job"
)

// errNoBackend: no backend is healthy to answer for the fleet.
var errNoBackend = errors.New("no healthy backend")

// healthyBackend returns the first healthy backend (or the first of all
// when none is).
func (h *Handler) healthyBackend() (Backend, error) {
	if all := usable(h.fleet.Backends()); len(all) > 0 {
		return all[0], nil
	}
	return Backend{}, errNoBackend
}

func (h *Handler) backend(id string) (Backend, bool) {
	for _, b := range h.fleet.Backends() {
		if b.ID == id {
			return b, true
		}
	}
	return Backend{}, false
}

// tenantPrivate are routes of a backend that show or change state every
// caller would share (server logs and paths, user settings and files).
// With API keys on they are not passed through.
var tenantPrivate = []string{"/internal/", "/experiment/models", "/userdata", "/v2/userdata", "/users", "/settings"}

type backendKey struct{}

// newProxy passes routes this surface does not know (custom nodes add
// their own, and the ComfyUI frontend's static files) to a healthy
// backend. Origin is dropped (the backend's own origin check would refuse
// a browser's), as are comfygate's credentials; bodies stay within
// MaxUploadBytes.
func newProxy(h *Handler) http.Handler {
	rp := &httputil.ReverseProxy{
		Transport: h.cfg.HTTPClient.Transport,
		Rewrite: func(pr *httputil.ProxyRequest) {
			b, _ := pr.In.Context().Value(backendKey{}).(Backend)
			target, err := url.Parse(b.URL)
			if err != nil {
				return
			}
			pr.SetURL(target)
			pr.Out.Host = target.Host
			for _, k := range []string{"Origin", "Authorization", "X-Api-Key", "Cookie"} {
				pr.Out.Header.Del(k)
			}
			for k, vs := range b.Header {
				pr.Out.Header[k] = vs
			}
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			h.log.Warn("comfyapi: proxied request failed", "path", r.URL.Path, "err", err)
			writeText(w, http.StatusBadGateway, "502: Bad Gateway")
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route := strings.TrimPrefix(r.URL.Path, "/api")
		if h.cfg.multiTenant() {
			for _, p := range tenantPrivate {
				if strings.HasPrefix(route, p) {
					notFound(w)
					return
				}
			}
		}
		b, err := h.healthyBackend()
		if err != nil {
			w.Header().Set("Retry-After", "5")
			writeText(w, http.StatusServiceUnavailable, "503: Service Unavailable: no healthy backend")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, h.cfg.MaxUploadBytes)
		rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), backendKey{}, b)))
	})
}

// viewOnBackend serves an output whose job is not finalized yet from the
// backend that wrote it (a client that fetches on "executed", as the
// ComfyUI frontend does), under the name the caller knows.
func (h *Handler) viewOnBackend(c *call, f *job.ComfyFile, q viewQuery) {
	b, ok := h.backend(f.Backend)
	if !ok {
		writeEmpty(c.w, http.StatusNotFound)
		return
	}
	req, err := http.NewRequestWithContext(c.r.Context(), http.MethodGet, viewURL(b.URL, f, q), nil)
	if err != nil {
		writeEmpty(c.w, http.StatusNotFound)
		return
	}
	for k, vs := range b.Header {
		req.Header[k] = vs
	}
	if rg := c.r.Header.Get("Range"); rg != "" {
		req.Header.Set("Range", rg)
	}
	resp, err := h.cfg.HTTPClient.Do(req)
	if err != nil {
		writeEmpty(c.w, http.StatusNotFound)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusPartialContent {
		writeEmpty(c.w, http.StatusNotFound)
		return
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
}
