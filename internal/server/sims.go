package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/comfygate/comfygate/comfy/comfysim"
	"github.com/comfygate/comfygate/internal/fleet"
	"github.com/comfygate/comfygate/internal/job"
)

// simFleet is the in-process simulators of a demo. It owns their serve
// goroutines.
type simFleet struct {
	sims   []*comfysim.Server
	lns    []net.Listener
	urls   []string
	cancel context.CancelFunc
	wg     sync.WaitGroup
	report func(error) // told when a simulator stops on its own
}

// startSims starts n simulators on 127.0.0.1 with free ports; the i-th
// (1-based) keeps its files in dir/i. They are built concurrently: building
// one loads a whole node catalog, the bulk of a demo's start time. A
// simulator that stops before stop is called (it crashed) is reported. On
// error, nothing is left running.
func startSims(ctx context.Context, n int, tmpl comfysim.Options, dir string, report func(error)) (*simFleet, error) {
	sf := &simFleet{sims: make([]*comfysim.Server, n), lns: make([]net.Listener, n), report: report}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { sf.sims[i], sf.lns[i], errs[i] = newSim(tmpl, dir, i+1) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, errors.Join(err, sf.closeAll())
	}
	ctx, sf.cancel = context.WithCancel(context.WithoutCancel(ctx))
	for i, sim := range sf.sims {
		ln := sf.lns[i]
		sf.urls = append(sf.urls, "http://"+ln.Addr().String())
		sf.wg.Go(func() {
			err := sim.Serve(ctx, ln)
			if ctx.Err() == nil {
				report(fmt.Errorf("simulator %d stopped: %w", i+1, err))
			}
		})
	}
	return sf, nil
}

// newSim builds simulator i and its listener.
func newSim(tmpl comfysim.Options, dir string, i int) (*comfysim.Server, net.Listener, error) {
	opts := tmpl
	opts.Listen, opts.DataDir = "", filepath.Join(dir, strconv.Itoa(i))
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("simulator %d: %w", i, err)
	}
	sim, err := comfysim.New(opts)
	if err != nil {
		return nil, nil, fmt.Errorf("simulator %d: %w", i, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, errors.Join(fmt.Errorf("simulator %d: listen: %w", i, err), sim.Close())
	}
	return sim, ln, nil
}

// outputDir is simulator i's (0-based) output directory.
func (sf *simFleet) outputDir(i int) string { return filepath.Join(sf.sims[i].DataDir(), "output") }

// closeAll closes what a failed start built.
func (sf *simFleet) closeAll() error {
	var errs []error
	for i, sim := range sf.sims {
		if sim != nil {
			errs = append(errs, sim.Close(), sf.lns[i].Close())
		}
	}
	return errors.Join(errs...)
}

// stop shuts every simulator down and waits for them.
func (sf *simFleet) stop() error {
	if sf == nil {
		return nil
	}
	sf.cancel()
	sf.wg.Wait()
	var errs []error
	for _, s := range sf.sims {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}

// pruneSims forgets the stored simulator backends ("sim-N") this process
// does not run: simulators live and die with the process that started
// them, and a restart with fewer must not leave dead ones in the fleet.
// Only a SQLite store can hold them (Config.validate refuses simulators
// with a shared database), so only there are they looked for.
func pruneSims(ctx context.Context, s job.BackendStore, engine string, running []fleet.BackendConfig) error {
	if engine != engineSQLite {
		return nil
	}
	stored, err := s.ListBackends(ctx)
	if err != nil {
		return fmt.Errorf("list stored backends: %w", err)
	}
	for _, b := range stored {
		n, isSim := strings.CutPrefix(b.ID, simIDPrefix)
		if _, err := strconv.Atoi(n); !isSim || err != nil ||
			slices.ContainsFunc(running, func(r fleet.BackendConfig) bool { return r.ID == b.ID }) {
			continue
		}
		if err := s.DeleteBackend(ctx, b.ID); err != nil && !errors.Is(err, job.ErrNotFound) {
			return fmt.Errorf("forget simulator %s: %w", b.ID, err)
		}
	}
	return nil
}
