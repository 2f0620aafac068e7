package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"

	"github.com/peterbourgon/ff/v4"
)

// version is this build's version when the linker sets it, e.g. for a
// release:
//
//	go build -ldflags "-X main.version=v1.4.0" ./cmd/comfygate
//
// Left empty, the build info says (see buildVersion).
var version string

// develVersion is what a build that knows no version of its own says.
const develVersion = "devel"

// buildVersion is the one version of this binary: `comfygate version`
// prints it, and serve logs it at start and publishes it as the API
// version of /openapi.json, so they always agree.
func buildVersion() string { return versionFrom(version, debug.ReadBuildInfo) }

// versionFrom is the linked version if any, else the main module's version
// from the build info (`go install …@v1.4.0` records the tag, `go build`
// in a git checkout a pseudo-version of the commit, "+dirty" with local
// changes), else develVersion (go run, go test).
func versionFrom(linked string, buildInfo func() (*debug.BuildInfo, bool)) string {
	if linked != "" {
		return linked
	}
	if bi, ok := buildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return develVersion
}

func newVersionCommand(stdout, _ io.Writer) *ff.Command {
	return &ff.Command{
		Name:      "version",
		Usage:     "comfygate version",
		ShortHelp: "print the version",
		Exec: func(context.Context, []string) error {
			_, err := fmt.Fprintf(stdout, "comfygate %s\n", buildVersion())
			return err
		},
	}
}
