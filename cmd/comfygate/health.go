package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/peterbourgon/ff/v4"
)

// defaultHealthTimeout bounds one probe: a health check that hangs tells
// the container runtime nothing.
const defaultHealthTimeout = 5 * time.Second

// maxProbeBody bounds what a probe reads of the answer (the server sends
// "ok" or a short reason).
const maxProbeBody = 1 << 10

// healthFlags are the settings of `comfygate health`.
type healthFlags struct {
	server  string
	ready   bool
	timeout time.Duration
}

// newHealthCommand is the probe of a container's HEALTHCHECK: an image
// built FROM scratch has no shell and no curl, so the binary asks itself.
func newHealthCommand(stdout, _ io.Writer) *ff.Command {
	f := &healthFlags{server: defaultServer}
	fs := ff.NewFlagSet("health")
	addFlag(fs, 0, "server", "URL", "comfygate base URL (env COMFYGATE_SERVER)", baseURLValue{&f.server})
	fs.BoolVar(&f.ready, 0, "ready", "probe /readyz (the store answers and a backend is healthy) instead of /healthz")
	fs.DurationVar(&f.timeout, 0, "timeout", defaultHealthTimeout, "give up after this long")
	return &ff.Command{
		Name:      "health",
		Usage:     "comfygate health [--server URL] [--ready]",
		ShortHelp: "probe a running gateway's /healthz; exit 0 when it answers 200, else 1",
		LongHelp: "For container health checks and scripts: GET /healthz (with --ready, /readyz) " +
			"on --server, print the answer, and exit 0 on 200 OK, 1 on anything else.",
		Flags: fs,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) != 0 {
				return fmt.Errorf("health: want no arguments, got %q: %w", args, errUsage)
			}
			return probe(ctx, f, stdout)
		},
	}
}

// probe asks the server once and fails unless it answers 200.
func probe(ctx context.Context, f *healthFlags, stdout io.Writer) error {
	path := "/healthz"
	if f.ready {
		path = "/readyz"
	}
	url := strings.TrimSuffix(f.server, "/") + path
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, maxProbeBody))
	said := oneLine(printable(strings.TrimSpace(string(body))), 200)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("health: GET %s: %s: %s", url, res.Status, said)
	}
	_, err = fmt.Fprintf(stdout, "%s: %s\n", url, said)
	return err
}
