package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/comfygate/comfygate/comfy/comfysim"
)

// simFleet is the in-process simulators of a demo. It owns their serve
// goroutines.
type simFleet struct {
	sims   []*comfysim.Server
	urls   []string
	cancel context.CancelFunc
	wg     sync.WaitGroup
	report func(error) // told when a simulator stops on its own
}

// startSims starts n simulators on 127.0.0.1 with free ports; the i-th keeps
// its files in dir/i. A simulator that stops before stop is called (it
// crashed) is reported. On error, the ones already started are stopped.
func startSims(ctx context.Context, n int, tmpl comfysim.Options, dir string, report func(error)) (*simFleet, error) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	sf := &simFleet{cancel: cancel, report: report}
	for i := 1; i <= n; i++ {
		if err := sf.start(ctx, tmpl, dir, i); err != nil {
			return nil, errors.Join(err, sf.stop())
		}
	}
	return sf, nil
}

func (sf *simFleet) start(ctx context.Context, tmpl comfysim.Options, dir string, i int) error {
	opts := tmpl
	opts.Listen, opts.DataDir = "", filepath.Join(dir, strconv.Itoa(i))
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return fmt.Errorf("simulator %d: %w", i, err)
	}
	sim, err := comfysim.New(opts)
	if err != nil {
		return fmt.Errorf("simulator %d: %w", i, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return errors.Join(fmt.Errorf("simulator %d: listen: %w", i, err), sim.Close())
	}
	sf.sims = append(sf.sims, sim)
	sf.urls = append(sf.urls, "http://"+ln.Addr().String())
	sf.wg.Go(func() {
		err := sim.Serve(ctx, ln)
		if ctx.Err() == nil {
			sf.report(fmt.Errorf("simulator %d stopped: %w", i, err))
		}
	})
	return nil
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
