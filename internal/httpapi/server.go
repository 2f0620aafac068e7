package httpapi

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/comfygate/comfygate/api"
)

// Server is the REST API as an http.Handler. It owns no goroutines of its
// own; the streams it serves live on their requests' goroutines and end on
// client disconnect or Drain.
type Server struct {
	cfg     Config
	svc     Service
	log     *slog.Logger
	mux     *http.ServeMux
	metrics *metrics
	keys    *keyring
	limits  *limiter
	doc     *openAPIDoc

	drainOnce sync.Once
	drained   chan struct{} // closed by Drain: streams end
}

// New builds the API over svc.
func New(svc Service, cfg Config) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("httpapi config: %w", err)
	}
	cfg = cfg.withDefaults()
	keys, err := newKeyring(cfg.APIKeys)
	if err != nil {
		return nil, fmt.Errorf("httpapi config: %w", err)
	}
	m, err := newMetrics(cfg.Registry)
	if err != nil {
		return nil, fmt.Errorf("httpapi metrics: %w", err)
	}
	s := &Server{cfg: cfg, svc: svc, log: cfg.Logger, mux: http.NewServeMux(),
		metrics: m, keys: keys, limits: newLimiter(cfg), drained: make(chan struct{})}
	s.doc = newOpenAPIDoc(s)
	for _, rt := range s.routes() {
		s.mux.Handle(rt.pattern, s.adapt(rt))
	}
	s.mux.Handle("/", s.adapt(route{pattern: "unmatched", class: classOpen, bodyLimit: smallBody, h: s.notFound}))
	return s, nil
}

// Drain ends every open event stream (clients resume elsewhere with
// Last-Event-ID). Call it from http.Server.RegisterOnShutdown: Shutdown
// alone waits forever for streams, which are never idle.
func (s *Server) Drain() {
	s.drainOnce.Do(func() { close(s.drained) })
}

// ServeHTTP gives every request an id (taken from X-Request-Id when sane)
// before routing, so that every log line and error body can name it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := incomingRequestID(r.Header.Get("X-Request-Id"))
	w.Header().Set("X-Request-Id", id)
	rec := &recorder{ResponseWriter: w}
	s.mux.ServeHTTP(rec, r.WithContext(withRequestID(r.Context(), id)))
}

// routeClass says which guards a route gets.
type routeClass int

const (
	classAPI     routeClass = iota // /v1: key, rate, in-flight cap
	classAdmin                     // /v1 fleet changes: as classAPI, and an admin key
	classStream                    // /v1 streams: key, rate, stream cap
	classOpen                      // probes: nothing
	classDocs                      // docs: key if Config.AuthDocs
	classMetrics                   // metrics: the metrics key or an admin key, once any key exists
)

type route struct {
	pattern   string
	class     routeClass
	bodyLimit int64
	h         handlerFunc
}

func (s *Server) routes() []route {
	j, up := s.cfg.MaxJSONBytes, s.cfg.MaxUploadBytes+multipartSlack
	return []route{
		{"PUT /v1/workflows/{name}", classAPI, j, s.putWorkflow},
		{"GET /v1/workflows", classAPI, smallBody, s.listWorkflows},
		{"GET /v1/workflows/{name}", classAPI, smallBody, s.getWorkflow},
		{"DELETE /v1/workflows/{name}", classAPI, smallBody, s.deleteWorkflow},
		{"POST /v1/workflows/{name}/jobs", classAPI, j, s.runWorkflow},
		{"POST /v1/jobs", classAPI, j, s.submitJob},
		{"GET /v1/jobs", classAPI, smallBody, s.listJobs},
		{"GET /v1/jobs/{id}", classAPI, smallBody, s.getJob},
		{"POST /v1/jobs/{id}/cancel", classAPI, smallBody, s.cancelJob},
		{"DELETE /v1/jobs/{id}", classAPI, smallBody, s.deleteJob},
		{"GET /v1/jobs/{id}/deliveries", classAPI, smallBody, s.listDeliveries},
		{"POST /v1/jobs/{id}/deliveries/redeliver", classAPI, smallBody, s.redeliver},
		{"GET /v1/webhooks/secret", classAdmin, smallBody, s.webhookSecret},
		{"GET /v1/jobs/{id}/events", classStream, smallBody, s.jobEventsSSE},
		{"GET /v1/jobs/{id}/ws", classStream, smallBody, s.jobEventsWS},
		{"GET /v1/events", classStream, smallBody, s.ownerEventsSSE},
		{"GET /v1/events/ws", classStream, smallBody, s.ownerEventsWS},
		{"POST /v1/uploads", classAPI, up, s.upload},
		{"GET /v1/artifacts/{id}", classAPI, smallBody, s.artifact},
		{"GET /v1/artifacts/{id}/link", classAPI, smallBody, s.artifactLink},
		{"GET /v1/backends", classAPI, smallBody, s.backends},
		{"POST /v1/backends", classAdmin, smallBody, s.addBackend},
		{"POST /v1/backends/test", classAdmin, smallBody, s.testBackend},
		{"DELETE /v1/backends/{id}", classAdmin, smallBody, s.removeBackend},
		{"POST /v1/backends/{id}/drain", classAdmin, smallBody, s.drainBackend},
		{"POST /v1/backends/{id}/resume", classAdmin, smallBody, s.resumeBackend},
		{"GET /healthz", classOpen, smallBody, s.healthz},
		{"GET /readyz", classOpen, smallBody, s.readyz},
		{"GET /health", classOpen, smallBody, s.healthz}, // the probes' other spelling (Salad, many balancers)
		{"GET /ready", classOpen, smallBody, s.readyz},
		{"GET /metrics", classMetrics, smallBody, s.serveMetrics},
		{"GET /openapi.json", classDocs, smallBody, s.openAPI},
		{"GET /docs", classDocs, smallBody, s.docsIndex},
		{"GET /docs/{file}", classDocs, smallBody, s.docsAsset},
		{"GET /docs/{$}", classDocs, smallBody, s.docsSlash},
	}
}

// adapt is the one place a handler's error becomes a response, a panic
// becomes a 500, and a request is measured.
func (s *Server) adapt(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec, ok := w.(*recorder)
		if !ok {
			rec = &recorder{ResponseWriter: w}
		}
		start := time.Now()
		s.metrics.inFlight.Inc()
		defer s.metrics.inFlight.Dec()
		defer s.metrics.observe(rt.pattern, rec, start)
		defer s.recoverPanic(rec, r)
		if err := s.guard(rt, rec, r); err != nil {
			s.writeError(rec, r, err)
		}
	})
}

// guard applies the route's body limit, key and load limits, then runs it.
func (s *Server) guard(rt route, w *recorder, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, rt.bodyLimit)
	// Without keys (loopback) everyone is the admin.
	key := APIKey{Admin: true}
	switch {
	case rt.class == classMetrics:
		if err := s.checkMetrics(w, r); err != nil {
			return err
		}
	case s.protected(rt.class):
		var err error
		if key, err = s.keys.authenticate(w, r); err != nil {
			return err
		}
	}
	if rt.class == classAdmin && !key.Admin {
		return notAdmin()
	}
	owner := key.ID
	if rt.class == classAPI || rt.class == classAdmin || rt.class == classStream {
		release, err := s.limits.acquire(owner, rt.class == classStream)
		if err != nil {
			return err
		}
		defer release()
	}
	if rt.bodyLimit == s.cfg.MaxJSONBytes { // a JSON body, read whole
		release, err := s.cfg.InFlight.Body(r, owner, rt.bodyLimit)
		if err != nil {
			return err
		}
		defer release()
	}
	if owner != "" {
		r = r.WithContext(withOwner(r.Context(), owner))
	}
	return rt.h(w, r)
}

func (s *Server) protected(c routeClass) bool {
	if !s.keys.enabled() {
		return false
	}
	switch c {
	case classAPI, classAdmin, classStream:
		return true
	case classDocs:
		return s.cfg.AuthDocs
	}
	return false
}

func (s *Server) recoverPanic(rec *recorder, r *http.Request) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		panic(v)
	}
	s.log.LogAttrs(r.Context(), slog.LevelError, "panic serving request",
		s.reqAttrs(r, slog.Any("panic", v), slog.String("stack", string(debug.Stack())))...)
	s.writeError(rec, r, &Error{Status: http.StatusInternalServerError, Code: api.CodeInternal,
		Message: "internal error; the server log has the detail", Err: fmt.Errorf("panic: %v", v)})
}

// notFound answers what no route matched: 405 with Allow when the path
// exists under another method, 404 otherwise.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) error {
	if allow := s.allowedMethods(r); len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		return &Error{Status: http.StatusMethodNotAllowed, Code: api.CodeMethodNotAllowed,
			Message: fmt.Sprintf("method %s is not allowed here; use %s", r.Method, strings.Join(allow, ", "))}
	}
	return &Error{Status: http.StatusNotFound, Code: api.CodeNotFound, Message: "no such route: " + r.URL.Path}
}

func (s *Server) allowedMethods(r *http.Request) []string {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != "/" {
			allow = append(allow, m)
		}
	}
	return allow
}
