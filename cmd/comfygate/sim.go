package main

import (
	"context"
	"errors"
	"io"

	"github.com/peterbourgon/ff/v4"
)

func newSimCommand(_, _ io.Writer) *ff.Command {
	return &ff.Command{
		Name:      "sim",
		Usage:     "comfygate sim [flags]",
		ShortHelp: "run a ComfyUI-compatible simulator (no GPU needed)",
		Flags:     ff.NewFlagSet("sim"),
		Exec: func(context.Context, []string) error {
			return errors.New("sim: not built yet")
		},
	}
}
