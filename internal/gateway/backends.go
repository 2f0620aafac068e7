package gateway

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/comfygate/comfygate/comfy"
)

// Backend is one ComfyUI server of the fleet as the use cases describe it.
type Backend struct {
	ID  string
	URL string
	// State is the fleet's word for its health: "unknown" (not probed
	// yet), "healthy", "degraded", "down" or "draining".
	State string
	// Running is the job it runs now ("" for none); Waiting are the jobs
	// waiting in its own queue (the prefetch).
	Running string
	Waiting []string
	// Done and Failed count the jobs that ended there.
	Done, Failed int64
	// Latency is how long its requests take, 0 when not known now.
	Latency time.Duration
	// LastError says what went wrong there last, and LastErrorAt when;
	// they outlive a recovery, and are zero if nothing ever did.
	LastError   string
	LastErrorAt time.Time
	Version     string
	Devices     []comfy.Device
	// NodeCount is how many node classes it has; Models are its model
	// files by the loader input that takes them ("ckpt_name": [...]).
	NodeCount int
	Models    map[string][]string
}

// StateHealthy is the State of a backend that takes jobs.
const StateHealthy = "healthy"

// Healthy reports whether b takes jobs.
func (b Backend) Healthy() bool { return b.State == StateHealthy }

// NewBackend is a ComfyUI server to add to the fleet.
type NewBackend struct {
	// ID names it; "" picks the next free "backend-N".
	ID  string
	URL string
	// MaxInflight is how many jobs it may hold at once; 0 is the fleet's
	// default.
	MaxInflight int
	// OutputDir is its output directory, for a backend on this host; ""
	// when outputs are to be downloaded.
	OutputDir string
}

// BackendProbe is what a ComfyUI server answered when tried.
type BackendProbe struct {
	URL                 string
	Latency             time.Duration
	Version             string
	VRAMTotal, VRAMFree int64
	NodeCount           int
	Devices             []comfy.Device
}

// Backends describes the fleet, in configuration order.
func (s *Service) Backends(context.Context) ([]Backend, error) {
	return s.cfg.Fleet.Backends(), nil
}

// FleetAdmin changes the fleet at run time. It is apart from Fleet so that
// what only runs jobs (and its test fakes) need not grow admin methods.
// An implementation reports an unknown id with an error wrapping
// ErrUnknownBackend, and a taken id with one wrapping ErrDuplicateBackend.
type FleetAdmin interface {
	// AddBackend adds a ComfyUI server; b is checked and has an id.
	AddBackend(b NewBackend) error
	// RemoveBackend drains a backend, waits until ctx ends for its jobs,
	// moves the ones still there elsewhere and takes it out.
	RemoveBackend(ctx context.Context, id string) error
	// Drain stops giving a backend new jobs; Resume undoes it.
	Drain(id string) error
	Resume(id string) error
	// TestBackend probes a ComfyUI server without adding it.
	TestBackend(ctx context.Context, url string) (BackendProbe, error)
}

// Errors of the FleetAdmin contract. The Service turns them into
// ErrNotFound and a ConflictError.
var (
	ErrUnknownBackend   = errors.New("unknown backend")
	ErrDuplicateBackend = errors.New("backend id already in use")
)

const (
	// probeTimeout bounds TestBackend: a server that has not answered by
	// then is as good as unreachable to an operator waiting for it.
	probeTimeout = 15 * time.Second
	// maxBackendURL and maxInflight bound what AddBackend accepts.
	maxBackendURL = 2048
	maxInflight   = 64
	maxOutputDir  = 4096
	// autoIDPrefix names backends added without an id, like those of the
	// server's configuration.
	autoIDPrefix = "backend-"
	// maxReason bounds how much of an upstream failure is repeated.
	maxReason = 300
)

var backendID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// AddBackend adds a ComfyUI server to the fleet, under req.ID or, when it
// is empty, the next free "backend-N". It takes jobs once its first health
// probe and socket succeed.
func (s *Service) AddBackend(_ context.Context, req NewBackend) (Backend, error) {
	admin, err := s.admin()
	if err != nil {
		return Backend{}, err
	}
	if err := checkAddBackend(req); err != nil {
		return Backend{}, err
	}
	if req.ID != "" {
		return s.addBackend(admin, req)
	}
	// Another add may take the id we picked; pick again a few times.
	var conflict *ConflictError
	for range 3 {
		req.ID = nextBackendID(s.cfg.Fleet.Backends())
		var b Backend
		if b, err = s.addBackend(admin, req); !errors.As(err, &conflict) {
			return b, err
		}
	}
	return Backend{}, err
}

func (s *Service) addBackend(admin FleetAdmin, req NewBackend) (Backend, error) {
	if err := admin.AddBackend(req); err != nil {
		return Backend{}, backendError("add", req.ID, err)
	}
	return s.backend(req.ID)
}

// RemoveBackend takes a backend out of the fleet. Its jobs get up to
// Config.RemoveWait (less if ctx ends first) to finish there; the fleet
// then moves the rest to other backends, so no job is lost either way.
func (s *Service) RemoveBackend(ctx context.Context, id string) error {
	admin, err := s.admin()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RemoveWait)
	defer cancel()
	return backendError("remove", id, admin.RemoveBackend(ctx, id))
}

// DrainBackend stops giving a backend new jobs; its jobs run to the end.
func (s *Service) DrainBackend(_ context.Context, id string) (Backend, error) {
	return s.changeBackend("drain", id, FleetAdmin.Drain)
}

// ResumeBackend undoes DrainBackend.
func (s *Service) ResumeBackend(_ context.Context, id string) (Backend, error) {
	return s.changeBackend("resume", id, FleetAdmin.Resume)
}

func (s *Service) changeBackend(op, id string, change func(FleetAdmin, string) error) (Backend, error) {
	admin, err := s.admin()
	if err != nil {
		return Backend{}, err
	}
	if err := change(admin, id); err != nil {
		return Backend{}, backendError(op, id, err)
	}
	return s.backend(id)
}

// TestBackend tries a ComfyUI server from here, without adding it: what
// it answers is what the fleet would see. A server that does not answer as
// ComfyUI does is an UpstreamError saying why.
func (s *Service) TestBackend(ctx context.Context, rawURL string) (BackendProbe, error) {
	admin, err := s.admin()
	if err != nil {
		return BackendProbe{}, err
	}
	if err := checkBackendURL("url", rawURL); err != nil {
		return BackendProbe{}, err
	}
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	p, err := admin.TestBackend(pctx, rawURL)
	switch {
	case err != nil && ctx.Err() != nil:
		return BackendProbe{}, fmt.Errorf("test backend: %w", ctx.Err())
	case err != nil && pctx.Err() != nil:
		return BackendProbe{}, &UpstreamError{Err: err,
			Message: fmt.Sprintf("%s did not answer within %s", rawURL, probeTimeout)}
	case err != nil:
		return BackendProbe{}, &UpstreamError{Err: err, Message: "not a reachable ComfyUI server: " + clip(err.Error(), maxReason)}
	}
	p.URL = rawURL
	return p, nil
}

// admin is the FleetAdmin, or why there is none.
func (s *Service) admin() (FleetAdmin, error) {
	if s.cfg.Admin == nil {
		return nil, &ForbiddenError{Message: "this server does not allow changing its fleet"}
	}
	return s.cfg.Admin, nil
}

// backend is one backend as the admin API shows it.
func (s *Service) backend(id string) (Backend, error) {
	for _, b := range s.cfg.Fleet.Backends() {
		if b.ID == id {
			return b, nil
		}
	}
	return Backend{}, fmt.Errorf("backend %q: %w", id, ErrNotFound)
}

// backendError turns the FleetAdmin contract's errors into the gateway's.
func backendError(op, id string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrUnknownBackend):
		return fmt.Errorf("backend %q: %w", id, ErrNotFound)
	case errors.Is(err, ErrDuplicateBackend):
		return &ConflictError{Code: "backend_exists", Message: fmt.Sprintf("backend id %q is already in use", id)}
	}
	return fmt.Errorf("%s backend %s: %w", op, id, err)
}

func checkAddBackend(req NewBackend) error {
	if req.ID != "" && !backendID.MatchString(req.ID) {
		return &InputError{Field: "id", Problem: "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"}
	}
	if req.MaxInflight < 0 || req.MaxInflight > maxInflight {
		return &InputError{Field: "max_inflight", Problem: fmt.Sprintf("must be from 0 (the default) to %d", maxInflight)}
	}
	if err := checkOutputDir("output_dir", req.OutputDir); err != nil {
		return err
	}
	return checkBackendURL("url", req.URL)
}

// checkOutputDir accepts "" or an absolute path to a directory that
// exists here: a mistyped one would silently cost every job a download.
func checkOutputDir(field, dir string) error {
	problem := func(p string) error { return &InputError{Field: field, Problem: p} }
	switch {
	case dir == "":
		return nil
	case len(dir) > maxOutputDir:
		return problem(fmt.Sprintf("is longer than %d bytes", maxOutputDir))
	case strings.ContainsRune(dir, 0) || !filepath.IsAbs(dir):
		return problem("must be an absolute path, e.g. /srv/comfyui/output")
	}
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return problem("does not exist on the gateway's host")
	case err != nil:
		return problem("cannot be read by the gateway: " + err.(*fs.PathError).Err.Error())
	case !st.IsDir():
		return problem("is not a directory")
	}
	return nil
}

// checkBackendURL accepts what the fleet can dial: an http(s) base URL.
// Credentials are refused because the URL is shown in the backend list.
func checkBackendURL(field, raw string) error {
	problem := func(p string) error { return &InputError{Field: field, Problem: p} }
	if raw == "" {
		return problem("is required")
	}
	if len(raw) > maxBackendURL {
		return problem(fmt.Sprintf("is longer than %d bytes", maxBackendURL))
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return problem("is not a URL: " + strings.TrimPrefix(err.Error(), "parse "))
	case u.Scheme != "http" && u.Scheme != "https":
		return problem(`must start with http:// or https://, e.g. "http://10.0.0.7:8188"`)
	case u.Host == "" || u.Hostname() == "":
		return problem("has no host")
	case u.User != nil:
		return problem("must not hold credentials: the URL is shown in the backend list")
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return problem("must not have a query or fragment")
	}
	return nil
}

// nextBackendID is "backend-N", N one above the highest in use.
func nextBackendID(bs []Backend) string {
	highest := 0
	for _, b := range bs {
		if n, err := strconv.Atoi(strings.TrimPrefix(b.ID, autoIDPrefix)); err == nil && strings.HasPrefix(b.ID, autoIDPrefix) {
			highest = max(highest, n)
		}
	}
	return autoIDPrefix + strconv.Itoa(highest+1)
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
