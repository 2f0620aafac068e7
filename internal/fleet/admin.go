package fleet

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/comfygate/comfygate/comfy"
	"github.com/comfygate/comfygate/internal/job"
)

// BackendStatus is a backend as the admin API shows it.
type BackendStatus struct {
	ID          string
	URL         string
	State       BackendState
	Connected   bool // the WebSocket is up
	MaxInflight int
	// Running is the job ComfyUI runs now ("" if none); Waiting are our
	// jobs in its queue (the prefetch).
	Running string
	Waiting []string
	Done    int64 // jobs that succeeded here
	Failed  int64 // jobs that failed here
	// Replica is the instance id of the replica that drives the backend
	// (holds its socket, dispatches to it), "" while nobody does. Running
	// and Waiting are known only on that replica.
	Replica string
	// Latency is the smoothed round trip of its requests; 0 while it is
	// down or not probed yet (an old number would read as current).
	Latency time.Duration
	// LastError is the most recent failure (a probe, the socket, a
	// submit), worded for any API key to read; LastErrorAt is when it
	// happened. For a down backend it is what took it down, and when.
	// Both stay after the backend recovers, so a flapping one can be told
	// from a healthy one; zero if nothing ever failed.
	LastError   string
	LastErrorAt time.Time
	Version     string
	Devices     []comfy.Device
	// NodeCount is the number of node classes; Models lists model files by
	// loader input ("ckpt_name": [...]).
	NodeCount int
	Models    map[string][]string
}

// Backends reports every backend, in configuration order.
func (f *Fleet) Backends() []BackendStatus {
	bs := f.snapshot()
	out := make([]BackendStatus, 0, len(bs))
	for _, b := range bs {
		out = append(out, b.status())
	}
	return out
}

func (b *Backend) status() BackendStatus {
	s := BackendStatus{
		ID: b.ID(), URL: b.cfg.URL, State: b.State(), Connected: b.socketUp.Load(),
		MaxInflight: b.cfg.MaxInflight, Done: b.done.Load(), Failed: b.failed.Load(), Replica: b.replica(),
	}
	if s.State != StateDown && s.State != StateUnknown {
		s.Latency = b.latency()
	}
	if lf := b.lastFailure.Load(); lf != nil {
		s.LastError, s.LastErrorAt = lf.reason, lf.at
	}
	if st := b.system.Load(); st != nil {
		s.Version, s.Devices = st.System.ComfyUIVersion, slices.Clone(st.Devices)
	}
	if caps := b.caps.Load(); caps != nil {
		s.NodeCount, s.Models = caps.nodeCount(), caps.models
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for pid, r := range b.runs {
		if pid == b.current {
			s.Running = r.jobID
		} else {
			s.Waiting = append(s.Waiting, r.jobID)
		}
	}
	slices.Sort(s.Waiting)
	return s
}

// newBackend builds a backend and its client; it starts nothing.
func (f *Fleet) newBackend(bc BackendConfig) (*Backend, error) {
	bc = bc.withDefaults()
	opts := []comfy.Option{comfy.WithHTTPClient(f.cfg.HTTPClient)}
	for k, vs := range bc.Headers {
		for _, v := range vs {
			opts = append(opts, comfy.WithHeader(k, v))
		}
	}
	client, err := comfy.NewClient(bc.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("backend %s: %w", bc.ID, err)
	}
	clientID := "comfygate-" + f.cfg.InstanceID + "-" + bc.ID
	return newBackend(bc, client, clientID), nil
}

// startBackend starts the backend's health goroutine (probes and catalog);
// its socket runs while this replica drives it (drive.go).
func (f *Fleet) startBackend(ctx context.Context, b *Backend) {
	bctx, cancel := context.WithCancel(ctx)
	b.cancel = cancel
	f.m.setDriven(b)
	b.wg.Go(func() { f.healthLoop(bctx, b) })
}

// AddBackend adds a ComfyUI server at run time, for every replica and every
// restart: it is stored in the registry first. It takes jobs once a replica
// holds its lease and its first probe and socket succeed.
func (f *Fleet) AddBackend(bc BackendConfig) error {
	if err := bc.validate(); err != nil {
		return fmt.Errorf("add backend: %w", err)
	}
	if f.backend(bc.ID) != nil {
		return fmt.Errorf("add backend %s: %w", bc.ID, ErrDuplicate)
	}
	ctx, cancel := f.adminContext()
	defer cancel()
	rec, err := f.cfg.Registry.AddBackend(ctx, &job.Backend{ID: bc.ID, URL: bc.URL, MaxInflight: bc.MaxInflight})
	switch {
	case errors.Is(err, job.ErrDuplicateID):
		return fmt.Errorf("add backend %s: %w", bc.ID, ErrDuplicate)
	case err != nil:
		return fmt.Errorf("add backend %s: %w", bc.ID, err)
	}
	if err := f.addLocal(bc, rec); err != nil {
		return err
	}
	f.cfg.Peers.Send(Signal{Kind: SignalBackends, ID: bc.ID})
	f.wakeShare()
	return nil
}

// addLocal adds the backend just stored to this replica (its headers are
// not stored: they stay with the replica that was given them).
func (f *Fleet) addLocal(bc BackendConfig, rec *job.Backend) error {
	b, err := f.newBackend(bc)
	if err != nil {
		return err
	}
	b.draining.Store(rec.Draining)
	f.backendsMu.Lock()
	defer f.backendsMu.Unlock()
	if f.backend(bc.ID) != nil {
		return nil // a share round added it meanwhile
	}
	f.addBackendLocked(b)
	if ctx := f.lifetime(); ctx != nil && ctx.Err() == nil {
		f.startBackend(ctx, b)
	}
	return nil
}

// adminContext bounds an admin call's registry work.
func (f *Fleet) adminContext() (context.Context, context.CancelFunc) {
	parent := f.lifetime()
	if parent == nil {
		parent = context.Background()
	}
	return context.WithTimeout(parent, f.cfg.RequestTimeout)
}

// Drain stops giving the backend new jobs, on every replica; the jobs on
// it run to the end.
func (f *Fleet) Drain(id string) error { return f.setDraining(id, true) }

// Resume undoes Drain.
func (f *Fleet) Resume(id string) error { return f.setDraining(id, false) }

func (f *Fleet) setDraining(id string, draining bool) error {
	verb := map[bool]string{true: "drain", false: "resume"}[draining]
	b := f.backend(id)
	if b == nil {
		return fmt.Errorf("%s %s: %w", verb, id, ErrUnknownBackend)
	}
	ctx, cancel := f.adminContext()
	defer cancel()
	err := f.cfg.Registry.SetBackendDraining(ctx, id, draining)
	switch {
	case errors.Is(err, job.ErrNotFound):
		return fmt.Errorf("%s %s: %w", verb, id, ErrUnknownBackend)
	case err != nil:
		return fmt.Errorf("%s %s: %w", verb, id, err)
	}
	b.draining.Store(draining)
	f.m.setBackendState(b)
	f.cfg.Peers.Send(Signal{Kind: SignalBackends, ID: id})
	f.wakeScheduler()
	return nil
}

// BackendProbe is what TestBackend found.
type BackendProbe struct {
	Latency   time.Duration
	Version   string
	Devices   []comfy.Device
	VRAMTotal int64
	VRAMFree  int64
	NodeCount int
}

// TestBackend checks a ComfyUI server before it is added: reachability,
// version, devices and VRAM, and the size of its node catalog.
func (f *Fleet) TestBackend(ctx context.Context, url string) (BackendProbe, error) {
	if err := (BackendConfig{ID: "test", URL: url}).validate(); err != nil {
		return BackendProbe{}, fmt.Errorf("test backend: %w", err)
	}
	c, err := comfy.NewClient(url, comfy.WithHTTPClient(f.cfg.HTTPClient))
	if err != nil {
		return BackendProbe{}, fmt.Errorf("test backend: %w", err)
	}
	start := time.Now()
	st, err := c.SystemStats(ctx)
	if err != nil {
		return BackendProbe{}, err // names the route and the URL; the caller says what was tested
	}
	p := BackendProbe{Latency: time.Since(start), Version: st.System.ComfyUIVersion, Devices: st.Devices}
	for _, d := range st.Devices {
		p.VRAMTotal += d.VRAMTotal
		p.VRAMFree += d.VRAMFree
	}
	info, err := c.ObjectInfo(ctx)
	if err != nil {
		return p, err
	}
	p.NodeCount = len(info)
	return p, nil
}
