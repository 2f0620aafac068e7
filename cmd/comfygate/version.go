package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"

	"github.com/peterbourgon/ff/v4"
)

func newVersionCommand(stdout, _ io.Writer) *ff.Command {
	return &ff.Command{
		Name:      "version",
		Usage:     "comfygate version",
		ShortHelp: "print the version",
		Exec: func(context.Context, []string) error {
			v := "devel"
			if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
				v = bi.Main.Version
			}
			_, err := fmt.Fprintf(stdout, "comfygate %s\n", v)
			return err
		},
	}
}
