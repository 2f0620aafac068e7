// Command comfygate is a production gateway for ComfyUI, and a ComfyUI
// simulator for machines without a GPU.
//
// main only wires: it sets up a signal-aware context and hands the arguments
// to run, so that end-to-end tests can start the real program in-process.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/peterbourgon/ff/v4"
	"github.com/peterbourgon/ff/v4/ffhelp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(exitCode(run(ctx, os.Args[1:], os.Stdout, os.Stderr), os.Stderr))
}

// exitCode reports err on stderr and turns it into a process exit code.
func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ff.ErrHelp), errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errInterrupted):
		fmt.Fprintf(stderr, "comfygate: %s\n", message(err))
		return 130 // the shell's convention for a command ended by Ctrl-C
	case errors.Is(err, context.Canceled):
		return 0
	default:
		fmt.Fprintf(stderr, "comfygate: %s\n", message(err))
		return 1
	}
}

// verbNames lists the sub-commands of c.
func verbNames(c *ff.Command) string {
	names := make([]string, len(c.Subcommands))
	for i, s := range c.Subcommands {
		names[i] = s.Name
	}
	return strings.Join(names, ", ")
}

// run parses args and runs the chosen verb until it ends or ctx is cancelled.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root := newRootCommand(stdout, stderr)
	if err := root.Parse(args, ff.WithEnvVarPrefix("COMFYGATE")); err != nil {
		sel := root.GetSelected()
		if errors.Is(err, ff.ErrHelp) {
			fmt.Fprintln(stderr, ffhelp.Command(sel))
			return err
		}
		if errors.Is(err, ff.ErrUnknownFlag) { // show the ones there are
			fmt.Fprintln(stderr, ffhelp.Command(sel))
		}
		return cleanParseError(sel, args, err)
	}
	if root.GetSelected() == root {
		if rest := root.Flags.GetArgs(); len(rest) > 0 {
			return fmt.Errorf("unknown verb %q; want one of %s (comfygate -h says what each does): %w", rest[0], verbNames(root), errUsage)
		}
		fmt.Fprintln(stdout, ffhelp.Command(root))
		return nil
	}
	return root.Run(ctx)
}
