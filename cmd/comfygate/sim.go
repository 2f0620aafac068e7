package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/peterbourgon/ff/v4"

	"github.com/comfygate/comfygate/comfy/comfysim"
)

// listFlag collects comma-separated values from one or more flags; set
// tells an empty list given on purpose ("--loras=") from no flag at all.
type listFlag struct {
	values []string
	set    bool
}

func (l *listFlag) add(s string) error {
	l.set = true
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			l.values = append(l.values, v)
		}
	}
	return nil
}

func (l *listFlag) get() []string {
	if !l.set {
		return nil
	}
	if l.values == nil {
		return []string{}
	}
	return l.values
}

func newSimCommand(stdout, stderr io.Writer) *ff.Command {
	fs := ff.NewFlagSet("sim")
	var opts comfysim.Options
	var checkpoints, loras, vaes, embeddings listFlag
	var hang, verbose, preview bool
	fs.StringVar(&opts.Listen, 0, "listen", "127.0.0.1:8188", "address to listen on")
	fs.StringVar(&opts.DataDir, 0, "data", "", "directory for input/output/temp (default: a temporary directory removed at exit)")
	fs.DurationVar(&opts.StepDelay, 0, "step-delay", 0, "time one sampler step takes")
	fs.DurationVar(&opts.NodeDelay, 0, "node-delay", 0, "minimum time every executed node takes")
	fs.Func(0, "class-delay", func(v string) error {
		class, d, ok := strings.Cut(v, "=")
		dur, err := time.ParseDuration(d)
		if !ok || class == "" || err != nil || dur < 0 {
			return fmt.Errorf("want CLASS=DURATION (e.g. ImageBlur=2s), got %q", v)
		}
		if opts.ClassDelays == nil {
			opts.ClassDelays = map[string]time.Duration{}
		}
		opts.ClassDelays[class] = dur
		return nil
	}, "minimum time of one node class, CLASS=DURATION (repeatable)")
	fs.DurationVar(&opts.ViewDelay, 0, "view-delay", 0, "delay of every GET /view answer")
	addEnum(fs, "preview-method", "sampler previews, like ComfyUI's --preview-method", &opts.PreviewMethod, "none", "auto", "latent2rgb", "taesd")
	fs.BoolVar(&preview, 0, "preview", "turn sampler previews on (--preview-method auto unless set)")
	fs.IntVar(&opts.PreviewSize, 0, "preview-size", 512, "largest side of sampler previews")
	fs.StringVar(&opts.FailNode, 0, "fail-node", "", "node class that raises a RuntimeError when it runs")
	fs.StringVar(&opts.CrashNode, 0, "crash-node", "", "node class whose start crashes the simulator (it exits with an error, as a backend dying on a prompt)")
	fs.Func(0, "checkpoints", checkpoints.add, "checkpoint files to pretend to have (comma-separated, repeatable)")
	fs.Func(0, "loras", loras.add, "lora files to pretend to have")
	fs.Func(0, "vae", vaes.add, "VAE files to pretend to have")
	fs.Func(0, "embeddings", embeddings.add, "embedding files to pretend to have")
	fs.Float64Var(&opts.MaxUploadSizeMB, 0, "max-upload-size", 0, "largest request body in MB (default 100)")
	fs.Uint64Var(&opts.Seed, 0, "seed", 0, "seed for random temp file prefixes (0: random)")
	fs.BoolVar(&hang, 0, "hang", "start hung: the worker makes no progress and sockets stay silent until POST /sim/faults {\"hang\": false}")
	fs.BoolVar(&verbose, 'v', "verbose", "log to stderr")
	return &ff.Command{
		Name:      "sim",
		Usage:     "comfygate sim [flags]",
		ShortHelp: "run a ComfyUI-compatible simulator (no GPU needed)",
		LongHelp: "Serves the ComfyUI 0.3.64 HTTP and WebSocket API with simulated nodes. " +
			"Faults can be changed at run time with POST /sim/faults, counters read from GET /sim/stats.",
		Flags: fs,
		Exec: func(ctx context.Context, _ []string) error {
			opts.Checkpoints, opts.Loras = checkpoints.get(), loras.get()
			opts.VAEs, opts.Embeddings = vaes.get(), embeddings.get()
			if preview && opts.PreviewMethod == "none" {
				opts.PreviewMethod = "auto"
			}
			if verbose {
				opts.Logger = slog.New(slog.NewTextHandler(stderr, nil))
			}
			return runSim(ctx, opts, hang, stdout)
		},
	}
}

func runSim(ctx context.Context, opts comfysim.Options, hang bool, stdout io.Writer) error {
	srv, err := comfysim.New(opts)
	if err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	defer srv.Close()
	if hang {
		srv.SetHang(true)
	}
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return fmt.Errorf("sim: listen: %w", err)
	}
	fmt.Fprintf(stdout, "comfysim listening on http://%s (data in %s)\n", ln.Addr(), srv.DataDir())
	err = srv.Serve(ctx, ln)
	if errors.Is(err, comfysim.ErrCrashed) {
		return fmt.Errorf("sim: %w", err)
	}
	return err
}
