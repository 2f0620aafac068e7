package gateway

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeAdmin is a fleet whose backends are a list that the FleetAdmin
// methods change, with the contract's errors.
type fakeAdmin struct {
	*fakeFleet
	// BeforeAdd runs before an add takes effect (to imitate a racing one).
	BeforeAdd       func(req NewBackend)
	TestBackendFunc func(ctx context.Context, url string) (BackendProbe, error)

	mu       sync.Mutex // guards the fields below
	backends []Backend
	removeDL time.Duration // time left on RemoveBackend's ctx
}

func (f *fakeAdmin) Backends() []Backend {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.backends)
}

func (f *fakeAdmin) add(b Backend) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if slices.ContainsFunc(f.backends, func(x Backend) bool { return x.ID == b.ID }) {
		return fmt.Errorf("add backend %s: %w", b.ID, ErrDuplicateBackend)
	}
	f.backends = append(f.backends, b)
	return nil
}

func (f *fakeAdmin) AddBackend(req NewBackend) error {
	if f.BeforeAdd != nil {
		f.BeforeAdd(req)
	}
	return f.add(Backend{ID: req.ID, URL: req.URL, State: "unknown"})
}

func (f *fakeAdmin) RemoveBackend(ctx context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if dl, ok := ctx.Deadline(); ok {
		f.removeDL = time.Until(dl)
	}
	i := slices.IndexFunc(f.backends, func(x Backend) bool { return x.ID == id })
	if i < 0 {
		return fmt.Errorf("remove backend %s: %w", id, ErrUnknownBackend)
	}
	f.backends = slices.Delete(f.backends, i, i+1)
	return nil
}

func (f *fakeAdmin) setState(id, state string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := slices.IndexFunc(f.backends, func(x Backend) bool { return x.ID == id })
	if i < 0 {
		return fmt.Errorf("%s: %w", id, ErrUnknownBackend)
	}
	f.backends[i].State = state
	return nil
}

func (f *fakeAdmin) Drain(id string) error  { return f.setState(id, "draining") }
func (f *fakeAdmin) Resume(id string) error { return f.setState(id, "healthy") }

func (f *fakeAdmin) TestBackend(ctx context.Context, url string) (BackendProbe, error) {
	return f.TestBackendFunc(ctx, url)
}

// newAdminService is a Service over a fakeAdmin holding backends.
func newAdminService(tb testing.TB, backends ...Backend) (*Service, *fakeAdmin) {
	tb.Helper()
	e := newEnv(tb)
	fa := &fakeAdmin{fakeFleet: e.fleet, backends: backends}
	cfg := e.svc.cfg
	cfg.Fleet, cfg.Admin, cfg.RemoveWait = fa, fa, time.Minute
	svc, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return svc, fa
}

func TestAddBackend(t *testing.T) {
	existing := []Backend{{ID: "backend-1", State: "healthy"}, {ID: "gpu", State: "healthy"}, {ID: "backend-7", State: "down"}}
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		req       NewBackend
		wantID    string
		wantField string // an InputError on this field
		wantCode  string // a ConflictError with this code
	}{
		{name: "named", req: NewBackend{ID: "gpu2", URL: "http://10.0.0.8:8188", MaxInflight: 3}, wantID: "gpu2"},
		{name: "id chosen above the highest", req: NewBackend{URL: "https://comfy.example/prefix"}, wantID: "backend-8"},
		{name: "duplicate id", req: NewBackend{ID: "gpu", URL: "http://h:1"}, wantCode: "backend_exists"},
		{name: "no url", req: NewBackend{ID: "x"}, wantField: "url"},
		{name: "not http", req: NewBackend{URL: "ftp://h:21"}, wantField: "url"},
		{name: "no scheme", req: NewBackend{URL: "10.0.0.8:8188"}, wantField: "url"},
		{name: "no host", req: NewBackend{URL: "http:///x"}, wantField: "url"},
		{name: "bad port", req: NewBackend{URL: "http://h:port"}, wantField: "url"},
		{name: "credentials", req: NewBackend{URL: "http://u:p@h:8188"}, wantField: "url"},
		{name: "query", req: NewBackend{URL: "http://h:8188/?a=b"}, wantField: "url"},
		{name: "too long", req: NewBackend{URL: "http://h/" + strings.Repeat("a", maxBackendURL)}, wantField: "url"},
		{name: "bad id", req: NewBackend{ID: "-x", URL: "http://h:1"}, wantField: "id"},
		{name: "long id", req: NewBackend{ID: strings.Repeat("a", 65), URL: "http://h:1"}, wantField: "id"},
		{name: "negative max_inflight", req: NewBackend{URL: "http://h:1", MaxInflight: -1}, wantField: "max_inflight"},
		{name: "huge max_inflight", req: NewBackend{URL: "http://h:1", MaxInflight: maxInflight + 1}, wantField: "max_inflight"},
		{name: "output dir", req: NewBackend{ID: "local", URL: "http://127.0.0.1:8188", OutputDir: dir}, wantID: "local"},
		{name: "relative output dir", req: NewBackend{URL: "http://h:1", OutputDir: "output"}, wantField: "output_dir"},
		{name: "missing output dir", req: NewBackend{URL: "http://h:1", OutputDir: filepath.Join(dir, "none")}, wantField: "output_dir"},
		{name: "output dir is a file", req: NewBackend{URL: "http://h:1", OutputDir: file}, wantField: "output_dir"},
		{name: "output dir with NUL", req: NewBackend{URL: "http://h:1", OutputDir: "/srv/\x00"}, wantField: "output_dir"},
		{name: "long output dir", req: NewBackend{URL: "http://h:1", OutputDir: "/" + strings.Repeat("a", maxOutputDir)}, wantField: "output_dir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, fa := newAdminService(t, existing...)
			b, err := svc.AddBackend(context.Background(), tt.req)
			var (
				input    *InputError
				conflict *ConflictError
			)
			switch {
			case tt.wantField != "":
				if !errors.As(err, &input) || input.Field != tt.wantField {
					t.Fatalf("err = %v, want an InputError on %s", err, tt.wantField)
				}
			case tt.wantCode != "":
				if !errors.As(err, &conflict) || conflict.Code != tt.wantCode {
					t.Fatalf("err = %v, want a ConflictError %s", err, tt.wantCode)
				}
			default:
				want := Backend{ID: tt.wantID, URL: tt.req.URL, State: "unknown"}
				if err != nil || !cmp.Equal(b, want) {
					t.Fatalf("AddBackend = %+v, %v; want %+v", b, err, want)
				}
			}
			if added := len(fa.Backends()) - len(existing); added != btoi(err == nil) {
				t.Errorf("%d backends added, want %d", added, btoi(err == nil))
			}
		})
	}
}

// TestAddBackendPassesOutputDir: the fleet is told the output directory.
func TestAddBackendPassesOutputDir(t *testing.T) {
	svc, fa := newAdminService(t)
	dir := t.TempDir()
	var got string
	fa.BeforeAdd = func(req NewBackend) { got = req.OutputDir }
	if _, err := svc.AddBackend(context.Background(), NewBackend{URL: "http://127.0.0.1:8188", OutputDir: dir}); err != nil {
		t.Fatal(err)
	}
	if got != dir {
		t.Errorf("the fleet was given output dir %q, want %q", got, dir)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestAddBackendRacingID: when a concurrent add takes the id picked for
// this one, the next free id is picked.
func TestAddBackendRacingID(t *testing.T) {
	svc, fa := newAdminService(t)
	fa.BeforeAdd = func(req NewBackend) {
		if req.ID == "backend-1" {
			_ = fa.add(Backend{ID: "backend-1", State: "healthy"})
		}
	}
	b, err := svc.AddBackend(context.Background(), NewBackend{URL: "http://h:1"})
	if err != nil || b.ID != "backend-2" {
		t.Fatalf("AddBackend = %+v, %v; want backend-2", b, err)
	}
}

func TestBackendChanges(t *testing.T) {
	svc, fa := newAdminService(t, Backend{ID: "gpu", State: "healthy"})
	ctx := context.Background()
	if b, err := svc.DrainBackend(ctx, "gpu"); err != nil || b.State != "draining" {
		t.Fatalf("drain: %+v, %v", b, err)
	}
	if b, err := svc.ResumeBackend(ctx, "gpu"); err != nil || b.State != "healthy" {
		t.Fatalf("resume: %+v, %v", b, err)
	}
	if err := svc.RemoveBackend(ctx, "gpu"); err != nil || len(fa.Backends()) != 0 {
		t.Fatalf("remove: %v; left %+v", err, fa.Backends())
	}
	if fa.removeDL <= 0 || fa.removeDL > time.Minute {
		t.Errorf("RemoveBackend's ctx had %v left, want a deadline within RemoveWait (1m)", fa.removeDL)
	}
	for name, call := range map[string]func() error{
		"drain":  func() error { _, err := svc.DrainBackend(ctx, "gpu"); return err },
		"resume": func() error { _, err := svc.ResumeBackend(ctx, "gpu"); return err },
		"remove": func() error { return svc.RemoveBackend(ctx, "gpu") },
	} {
		if err := call(); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `"gpu"`) {
			t.Errorf("%s unknown: %v, want ErrNotFound naming the id", name, err)
		}
	}
}

func TestTestBackend(t *testing.T) {
	probe := BackendProbe{Latency: 2 * time.Millisecond, Version: "0.3.64", NodeCount: 612, VRAMTotal: 8, VRAMFree: 4}
	refused := errors.New(`test backend http://h:1: dial tcp 127.0.0.1:1: connect: connection refused`)
	tests := []struct {
		name       string
		url        string
		fleet      func(ctx context.Context, url string) (BackendProbe, error)
		want       BackendProbe
		wantField  string
		wantReason string // an UpstreamError containing this
	}{
		{name: "answers", url: "http://h:1", fleet: func(context.Context, string) (BackendProbe, error) { return probe, nil },
			want: BackendProbe{URL: "http://h:1", Latency: 2 * time.Millisecond, Version: "0.3.64", NodeCount: 612, VRAMTotal: 8, VRAMFree: 4}},
		{name: "unreachable", url: "http://h:1", fleet: func(context.Context, string) (BackendProbe, error) { return BackendProbe{}, refused },
			wantReason: "connection refused"},
		{name: "bad url", url: "h:1", wantField: "url"},
		{name: "empty url", url: "", wantField: "url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, fa := newAdminService(t)
			fa.TestBackendFunc = tt.fleet
			p, err := svc.TestBackend(context.Background(), tt.url)
			var (
				input    *InputError
				upstream *UpstreamError
			)
			switch {
			case tt.wantField != "":
				if !errors.As(err, &input) || input.Field != tt.wantField {
					t.Fatalf("err = %v, want an InputError on %s", err, tt.wantField)
				}
			case tt.wantReason != "":
				if !errors.As(err, &upstream) || !strings.Contains(upstream.Message, tt.wantReason) {
					t.Fatalf("err = %v, want an UpstreamError saying %q", err, tt.wantReason)
				}
			default:
				if diff := cmp.Diff(tt.want, p); err != nil || diff != "" {
					t.Fatalf("TestBackend: %v; probe (-want +got):\n%s", err, diff)
				}
			}
		})
	}
}

// TestTestBackendCallerGone: a caller that hangs up is not told the
// backend failed.
func TestTestBackendCallerGone(t *testing.T) {
	svc, fa := newAdminService(t)
	fa.TestBackendFunc = func(ctx context.Context, _ string) (BackendProbe, error) {
		<-ctx.Done()
		return BackendProbe{}, ctx.Err()
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := svc.TestBackend(ctx, "http://h:1")
	var upstream *UpstreamError
	if !errors.Is(err, context.Canceled) || errors.As(err, &upstream) {
		t.Fatalf("err = %v, want context.Canceled and no UpstreamError", err)
	}
}

func TestAdminOff(t *testing.T) {
	e := newEnv(t) // no Admin in its Config
	_, err := e.svc.AddBackend(context.Background(), NewBackend{URL: "http://h:1"})
	var forbidden *ForbiddenError
	if !errors.As(err, &forbidden) {
		t.Fatalf("err = %v, want a ForbiddenError", err)
	}
}
