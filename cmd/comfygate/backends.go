package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/peterbourgon/ff/v4"
	"github.com/peterbourgon/ff/v4/ffval"

	"github.com/comfygate/comfygate/api"
	"github.com/comfygate/comfygate/client"
)

// backendAddFlags are the options of `backends add`.
type backendAddFlags struct {
	id          string
	maxInflight int
	outputDir   string
}

func newBackendsCommand(stdout, stderr io.Writer) *ff.Command {
	af := &backendAddFlags{}
	return newGroup("backends", "list and manage the fleet's ComfyUI servers", stdout, stderr, []clientVerb{
		{name: "list", short: "list the backends", exec: listBackends},
		{name: "add", args: "URL", nargs: 1, short: "add a ComfyUI server", flags: af.define,
			exec: func(ctx context.Context, s *session, args []string) error { return addBackend(ctx, s, af, args[0]) }},
		{name: "remove", args: "ID", nargs: 1, short: "drain a backend, then take it out of the fleet", exec: removeBackend},
		{name: "drain", args: "ID", nargs: 1, short: "stop giving a backend new jobs", exec: drainBackend},
		{name: "resume", args: "ID", nargs: 1, short: "give a drained backend jobs again", exec: resumeBackend},
		{name: "test", args: "URL", nargs: 1, short: "check a ComfyUI server from the gateway without adding it", exec: testBackend},
	})
}

func (af *backendAddFlags) define(fs *ff.FlagSet) {
	addFlag(fs, 0, "id", "ID", "backend id (default: chosen by the server)", ffval.NewValue(&af.id))
	fs.IntVar(&af.maxInflight, 0, "max-inflight", 0, "prompts it may hold at once (default: the server's)")
	addFlag(fs, 0, "output-dir", "DIR", "its output directory, for a ComfyUI on the gateway's host: outputs are read from there and removed once stored", ffval.NewValue(&af.outputDir))
}

func listBackends(ctx context.Context, s *session, _ []string) error {
	bs, err := s.c.Backends(ctx)
	if err != nil {
		return fmt.Errorf("list backends: %w", err)
	}
	if bs == nil {
		bs = []api.Backend{}
	}
	return s.show(api.BackendList{Backends: bs}, func(w io.Writer) error {
		rows := make([][]string, 0, len(bs))
		for _, b := range bs {
			rows = append(rows, []string{b.ID, b.URL, b.State, strconv.Itoa(len(b.Running)), strconv.Itoa(len(b.Prefetch)),
				strconv.FormatInt(b.Done, 10), strconv.FormatInt(b.Failed, 10), latencyText(b.LatencyMS), orDash(b.Version), orDash(oneLine(b.LastError, 40))})
		}
		return table(w, "ID\tURL\tSTATE\tRUNNING\tWAITING\tDONE\tFAILED\tLATENCY\tVERSION\tLAST ERROR", rows)
	})
}

func addBackend(ctx context.Context, s *session, af *backendAddFlags, url string) error {
	b, err := s.c.AddBackend(ctx, client.AddBackendRequest{ID: af.id, URL: url, MaxInflight: af.maxInflight, OutputDir: af.outputDir})
	if err != nil {
		return fmt.Errorf("add backend %s: %w", url, err)
	}
	return showBackend(s, "added", b)
}

func removeBackend(ctx context.Context, s *session, args []string) error {
	if err := s.c.RemoveBackend(ctx, args[0]); err != nil {
		return fmt.Errorf("remove backend %s: %w", args[0], err)
	}
	return s.show(map[string]string{"removed": args[0]}, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "removed backend %s\n", args[0])
		return err
	})
}

func drainBackend(ctx context.Context, s *session, args []string) error {
	b, err := s.c.DrainBackend(ctx, args[0])
	if err != nil {
		return fmt.Errorf("drain backend %s: %w", args[0], err)
	}
	return showBackend(s, "draining", b)
}

func resumeBackend(ctx context.Context, s *session, args []string) error {
	b, err := s.c.ResumeBackend(ctx, args[0])
	if err != nil {
		return fmt.Errorf("resume backend %s: %w", args[0], err)
	}
	return showBackend(s, "resumed", b)
}

func showBackend(s *session, what string, b api.Backend) error {
	return s.show(b, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "%s backend %s (%s): %s\n", what, b.ID, b.URL, b.State)
		return err
	})
}

func testBackend(ctx context.Context, s *session, args []string) error {
	p, err := s.c.TestBackend(ctx, args[0])
	if err != nil {
		return fmt.Errorf("test backend %s: %w", args[0], err)
	}
	return s.show(p, func(w io.Writer) error {
		return fields(w, [][2]string{
			{"url", orDash(p.URL)}, {"latency", latencyText(p.LatencyMS)}, {"version", orDash(p.Version)},
			{"node classes", strconv.Itoa(p.NodeCount)}, {"devices", deviceList(p.Devices)},
			{"vram", sizeText(p.VRAMFree) + " free of " + sizeText(p.VRAMTotal)},
		})
	})
}

func deviceList(ds []api.Device) string {
	parts := make([]string, 0, len(ds))
	for _, d := range ds {
		parts = append(parts, d.Name+" ("+d.Type+")")
	}
	return orDash(strings.Join(parts, ", "))
}

func latencyText(ms float64) string {
	if ms <= 0 {
		return "-"
	}
	return strconv.FormatFloat(ms, 'f', 1, 64) + "ms"
}
