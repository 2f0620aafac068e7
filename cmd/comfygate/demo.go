package main

import (
	"context"
	"io"
	"time"

	"github.com/peterbourgon/ff/v4"
)

// Demo defaults: two simulators, slow enough that progress and the queue
// are visible in the UI, sending sampler previews as ComfyUI does when
// started with --preview-method auto (`comfygate sim --preview`).
const (
	demoSims          = 2
	demoStepDelay     = 100 * time.Millisecond
	demoPreviewMethod = "auto"
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
		LongHelp: "Like serve, with --sim 2 and a sampler step delay so jobs show progress, simulators " +
			"that send sampler previews, and the example workflows (txt2img, img2img) stored at start; " +
			"URL inputs and webhooks may reach this host (--allow-loopback-urls), so a webhook receiver " +
			"can run beside it. Needs no GPU and no ComfyUI.",
		Flags: fs,
		Exec: func(ctx context.Context, _ []string) error {
			cfg, err := f.serverConfig(stderr)
			if err != nil {
				return err
			}
			cfg.Examples, cfg.AllowLoopbackURLs = true, true
			cfg.Sim.PreviewMethod = demoPreviewMethod
			return runServer(ctx, cfg, stdout)
		},
	}
}
