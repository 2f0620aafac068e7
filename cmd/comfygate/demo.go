package main

import (
	"context"
	"io"
	"time"

	"github.com/peterbourgon/ff/v4"
)

// Demo defaults: two simulators, slow enough that progress and the queue
// are visible in the UI.
const (
	demoSims      = 2
	demoStepDelay = 100 * time.Millisecond
)

// demoDefaults are serve's defaults with the demo's changes.
func demoDefaults() serveFlags {
	d := serveDefaults()
	d.sims, d.stepDelay = demoSims, demoStepDelay
	return d
}

func newDemoCommand(stdout, stderr io.Writer) *ff.Command {
	f, fs := newServeFlags("demo", demoDefaults())
	return &ff.Command{
		Name:      "demo",
		Usage:     "comfygate demo [flags]",
		ShortHelp: "run the gateway with two built-in ComfyUI simulators and an example workflow",
		LongHelp: "Like serve, with --sim 2 and a sampler step delay so jobs show progress, " +
			"and the txt2img example workflow stored at start; URL inputs and webhooks may reach this host " +
			"(--allow-loopback-urls), so a webhook receiver can run beside it. Needs no GPU and no ComfyUI.",
		Flags: fs,
		Exec: func(ctx context.Context, _ []string) error {
			cfg, err := f.serverConfig(stderr)
			if err != nil {
				return err
			}
			cfg.Examples, cfg.AllowLoopbackURLs = true, true
			return runServer(ctx, cfg, stdout)
		},
	}
}
