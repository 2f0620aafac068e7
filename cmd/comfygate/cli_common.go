package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/peterbourgon/ff/v4"
	"github.com/peterbourgon/ff/v4/ffval"

	"github.com/comfygate/comfygate/client"
)

// defaultServer is where the client verbs look for comfygate: where serve
// listens by default.
const defaultServer = "http://127.0.0.1:8080"

// errUsage marks a command line the verb cannot run (wrong arguments).
var errUsage = errors.New("usage")

// clientFlags are the flags every client verb shares. main parses with the
// COMFYGATE env prefix, so they are also COMFYGATE_SERVER, COMFYGATE_KEY and
// COMFYGATE_JSON. The key flag is --key, not --api-key: serve's --api-key
// (id:key pairs, env COMFYGATE_API_KEY) configures the server, and one
// shell must be able to hold both.
type clientFlags struct {
	server string
	apiKey string
	json   bool
}

func addClientFlags(fs *ff.FlagSet) *clientFlags {
	f := &clientFlags{server: defaultServer}
	addFlag(fs, 0, "server", "URL", "comfygate base URL (env COMFYGATE_SERVER)", baseURLValue{&f.server})
	addFlag(fs, 0, "key", "KEY", "API key, sent as a bearer token (env COMFYGATE_KEY)", ffval.NewValue(&f.apiKey))
	fs.BoolVar(&f.json, 0, "json", "print JSON instead of text")
	return f
}

// addFlag defines a flag with a placeholder for the help text, which ff
// otherwise derives from the value's type ("STRING"). It panics on a
// programmer's error, as ff's own helpers do.
func addFlag(fs *ff.FlagSet, short rune, long, placeholder, usage string, v flag.Value) {
	if _, err := fs.AddFlag(ff.FlagConfig{ShortName: short, LongName: long, Placeholder: placeholder, Usage: usage, Value: v}); err != nil {
		panic(err)
	}
}

// session is one verb's connection to the server and its output.
type session struct {
	c      *client.Client
	stdout io.Writer
	stderr io.Writer
	json   bool
}

// open builds a session. The transport is the verb's own, without an
// overall timeout (event streams of long jobs run for minutes; contexts
// bound the calls); close drops its idle connections when the verb ends.
func (f *clientFlags) open(stdout, stderr io.Writer) (s *session, closeFn func(), err error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	c, err := client.New(f.server, client.WithAPIKey(f.apiKey), client.WithHTTPClient(&http.Client{Transport: tr}))
	if err != nil {
		return nil, nil, fmt.Errorf("--server: %w", err)
	}
	return &session{c: c, stdout: stdout, stderr: stderr, json: f.json}, tr.CloseIdleConnections, nil
}

// show prints v as indented JSON with --json, else as text.
func (s *session) show(v any, text func(w io.Writer) error) error {
	if s.json {
		return writeJSON(s.stdout, v)
	}
	return text(s.stdout)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table writes aligned columns; rows are tab-separated cells.
func table(w io.Writer, header string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		cells := make([]string, len(r))
		for i, c := range r {
			cells[i] = printable(c)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// fields writes "key: value" lines with the values aligned.
func fields(w io.Writer, kv [][2]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	for _, f := range kv {
		if f[1] != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", f[0], printable(f[1]))
		}
	}
	return tw.Flush()
}

// printable keeps text from the server from driving the terminal: control
// characters (escape sequences, tabs that would break the columns) become
// "?".
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
}

// stamp formats a time for tables: UTC, so that output reads the same on
// every machine and in logs.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func stampPtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return stamp(*t)
}

// orDash keeps empty table cells visible.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// clientVerb is one sub-verb of a verb group (workflows list, jobs get …).
type clientVerb struct {
	name, args, short string
	// nargs is the number of positional arguments the verb takes.
	nargs int
	// flags adds the verb's own flags.
	flags func(fs *ff.FlagSet)
	exec  func(ctx context.Context, s *session, args []string) error
}

// newGroup builds a verb with sub-verbs. The shared client flags sit on the
// group, and every sub-verb's flag set has it as parent, so they go before
// or after the sub-verb. With no sub-verb the group runs verbs[0], whose
// flags therefore sit on the group too (`jobs --state queued`).
func newGroup(name, short string, stdout, stderr io.Writer, verbs []clientVerb) *ff.Command {
	fs := ff.NewFlagSet(name)
	cf := addClientFlags(fs)
	if verbs[0].flags != nil {
		verbs[0].flags(fs)
	}
	names := make([]string, 0, len(verbs))
	for _, v := range verbs {
		names = append(names, v.name)
	}
	group := &ff.Command{
		Name:      name,
		Usage:     fmt.Sprintf("comfygate %s [%s] [flags]", name, strings.Join(names, "|")),
		ShortHelp: short,
		Flags:     fs,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("%s: unknown verb %q; want one of %s: %w", name, args[0], strings.Join(names, ", "), errUsage)
			}
			return runVerb(ctx, cf, stdout, stderr, verbs[0], args)
		},
	}
	for i, v := range verbs {
		group.Subcommands = append(group.Subcommands, subCommand(name, fs, cf, stdout, stderr, v, i == 0))
	}
	return group
}

func subCommand(group string, parent *ff.FlagSet, cf *clientFlags, stdout, stderr io.Writer, v clientVerb, isDefault bool) *ff.Command {
	fs := ff.NewFlagSet(v.name).SetParent(parent)
	if v.flags != nil && !isDefault {
		v.flags(fs)
	}
	return &ff.Command{
		Name:      v.name,
		Usage:     strings.TrimSpace(fmt.Sprintf("comfygate %s %s %s", group, v.name, v.args)) + " [flags]",
		ShortHelp: v.short,
		Flags:     interspersed{fs},
		Exec: func(ctx context.Context, args []string) error {
			if len(args) != v.nargs {
				return fmt.Errorf("%s %s: want %d argument(s) %s, got %d: %w", group, v.name, v.nargs, v.args, len(args), errUsage)
			}
			return runVerb(ctx, cf, stdout, stderr, v, args)
		},
	}
}

func runVerb(ctx context.Context, cf *clientFlags, stdout, stderr io.Writer, v clientVerb, args []string) error {
	s, closeFn, err := cf.open(stdout, stderr)
	if err != nil {
		return err
	}
	defer closeFn()
	return v.exec(ctx, s, args)
}

// interspersed lets flags follow positional arguments (`comfygate run
// txt2img -p seed=1`, `jobs get ID --json`): ff, like the standard
// library, stops at the first argument that is not a flag. It moves the
// flags first and the positional arguments after a "--".
type interspersed struct{ *ff.FlagSet }

func (f interspersed) Parse(args []string) error {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			pos = append(pos, args[i+1:]...)
			i = len(args)
		case len(a) < 2 || a[0] != '-': // "-" alone is a positional (stdin)
			pos = append(pos, a)
		default:
			flags = append(flags, a)
			if f.takesValue(a) && i+1 < len(args) {
				i++
				flags = append(flags, args[i])
			}
		}
	}
	return f.FlagSet.Parse(slices.Concat(flags, []string{"--"}, pos))
}

// takesValue reports whether the flag arg consumes the next argument. ff
// gives false-by-default boolean flags, and only those, no placeholder.
func (f interspersed) takesValue(arg string) bool {
	name := strings.TrimLeft(arg, "-")
	if strings.Contains(name, "=") || !strings.HasPrefix(arg, "--") && len(name) != 1 {
		return false // --name=value, -pvalue
	}
	fl, ok := f.GetFlag(name)
	return ok && fl.GetPlaceholder() != ""
}
