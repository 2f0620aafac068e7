package main

import (
	"io"

	"github.com/peterbourgon/ff/v4"
)

// verbs lists the constructors of every sub-command; each verb lives in its
// own file and adds itself here.
var verbs = []func(stdout, stderr io.Writer) *ff.Command{
	newServeCommand,
	newDemoCommand,
	newSimCommand,
	newVersionCommand,
	newHealthCommand,
	newRunCommand,
	newWorkflowsCommand,
	newJobsCommand,
	newBackendsCommand,
	newBenchCommand,
}

func newRootCommand(stdout, stderr io.Writer) *ff.Command {
	root := &ff.Command{
		Name:      "comfygate",
		Usage:     "comfygate <verb> [flags]",
		ShortHelp: "a production gateway for ComfyUI",
		Flags:     ff.NewFlagSet("comfygate"),
	}
	for _, v := range verbs {
		root.Subcommands = append(root.Subcommands, v(stdout, stderr))
	}
	return root
}
