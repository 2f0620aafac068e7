package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/peterbourgon/ff/v4"

	"github.com/comfygate/comfygate/client"
)

// message is err as the person at the terminal reads it, on one line
// after main's "comfygate: ". The SDK's errors start with "comfygate:"
// themselves (right for a program that embeds the SDK, doubled here), so a
// server error is rewritten as what the server said and where, with its
// status and request id after.
func message(err error) string {
	msg := err.Error()
	var ce *client.Error
	if errors.As(err, &ce) {
		msg = strings.Replace(msg, ce.Error(), serverSaid(ce), 1)
	}
	return strings.TrimSuffix(msg, ": "+errUsage.Error())
}

// serverSaid reads "params.steps: must be ≥ 1 (400 invalid_request,
// request 7QX…)".
func serverSaid(e *client.Error) string {
	var b strings.Builder
	if e.Field != "" && !strings.HasPrefix(e.Message, e.Field) {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Message)
	fmt.Fprintf(&b, " (%d %s", e.StatusCode, e.Code)
	if e.RequestID != "" {
		b.WriteString(", request " + e.RequestID)
	}
	b.WriteString(")")
	return b.String()
}

// parseError is a command line ff could not parse, said once: ff wraps a
// flag's error in the command's name and "parse args:" at each of its
// layers ("serve: parse args: parse args: --log-format: set \"xml\":
// invalid value"); Error gives "serve --log-format \"xml\": want one of
// info, debug, warn, error".
type parseError struct {
	msg string
	err error // ff's, for errors.Is (ff.ErrUnknownFlag)
}

func (e *parseError) Error() string { return e.msg }
func (e *parseError) Unwrap() error { return e.err }

// cleanParseError rewrites err, which parsing args for the command sel
// failed with.
func cleanParseError(sel *ff.Command, args []string, err error) error {
	layers, leaf := unwrapLayers(err)
	l := &problemLine{sel: sel, detail: leaf.Error()}
	if path := commandPath(sel); path != "" {
		l.parts = append(l.parts, path)
	}
	for i, layer := range layers {
		if l.parseFailed {
			// The rest is the parser's own wording ("strconv.Atoi:
			// parsing \"x\": invalid syntax"), kept for a kind of value
			// explain does not know.
			l.detail = strings.Join(layers[i:], "") + leaf.Error()
			break
		}
		l.add(i == 0, layer)
	}
	return &parseError{msg: l.with(explain(l.flag, leaf, l.detail, l.parseFailed, args)), err: err}
}

// problemLine collects the parts of a parse error worth saying: the
// command, where the value came from (flag, variable, config key) and the
// value.
type problemLine struct {
	sel         *ff.Command
	parts       []string
	flag        ff.Flag // the flag named, when one is
	parseFailed bool    // the value did not parse as the flag's type
	detail      string  // what the parser said
}

// add takes one of ff's layers; first is the outermost.
func (l *problemLine) add(first bool, layer string) {
	switch {
	case first && layer == l.sel.Name+": ", layer == "parse args: ", layer == "parse environment: ":
		// ff's framing: the command is in the path, a flag or variable names the source
	case layer == "parse error: ":
		l.parseFailed = true
	case layer == "parse config file: ":
		l.parts = append(l.parts, "--config file:")
	case strings.HasPrefix(layer, "set \"") && len(l.parts) > 0: // `set "xml": ` after the flag
		value := strings.TrimPrefix(strings.TrimSuffix(layer, ": "), "set ")
		l.parts[len(l.parts)-1] = strings.TrimSuffix(l.parts[len(l.parts)-1], ":") + " " + value + ":"
	default:
		if f := flagNamed(l.sel, layer); f != nil {
			l.flag = f
		}
		l.parts = append(l.parts, strings.TrimSuffix(layer, " "))
	}
}

// with ends the line with the explanation.
func (l *problemLine) with(explanation string) string {
	parts := l.parts
	if n := len(parts); n > 0 && !strings.HasSuffix(parts[n-1], ":") {
		parts[n-1] += ":"
	}
	return strings.Join(append(parts, explanation), " ")
}

// unwrapLayers splits a chain of fmt.Errorf("prefix: %w") errors into
// the prefixes and the innermost error's text. A layer that does not end
// with its cause's text ends the split.
func unwrapLayers(err error) (layers []string, leaf error) {
	for {
		inner := errors.Unwrap(err)
		if inner == nil {
			return layers, err
		}
		prefix, ok := strings.CutSuffix(err.Error(), inner.Error())
		if !ok {
			return layers, err
		}
		layers = append(layers, prefix)
		err = inner
	}
}

// commandPath is "jobs list" for the sub-verb list of jobs; "" for the
// root, whose name main prints already.
func commandPath(c *ff.Command) string {
	var names []string
	for ; c != nil && c.GetParent() != nil; c = c.GetParent() {
		names = append([]string{c.Name}, names...)
	}
	return strings.Join(names, " ")
}

// flagNamed finds the flag a layer like "--log-format: ", "-p, --param: ",
// "log-format: " (a config file key) or `COMFYGATE_LOG_FORMAT="xml": `
// names.
func flagNamed(sel *ff.Command, layer string) ff.Flag {
	name := strings.TrimSuffix(layer, ": ")
	if _, long, ok := strings.Cut(name, ", "); ok {
		name = long
	}
	if env, ok := strings.CutPrefix(name, envPrefix+"_"); ok {
		env, _, _ = strings.Cut(env, "=")
		name = strings.ReplaceAll(strings.ToLower(env), "_", "-")
	}
	f, ok := sel.Flags.GetFlag(strings.TrimLeft(name, "-"))
	if !ok {
		return nil
	}
	return f
}

// explain says what a flag's value should look like, by the kind of value
// ff gave it (the placeholder of its help line), instead of ff's parse
// error text.
func explain(f ff.Flag, leaf error, msg string, parseFailed bool, args []string) string {
	if msg == "missing value" && len(args) > 0 { // only the last argument can lack one
		return fmt.Sprintf("%s needs a value", args[len(args)-1])
	}
	if f == nil || !parseFailed {
		return msg
	}
	if errors.Is(leaf, strconv.ErrRange) {
		return "out of range"
	}
	switch f.GetPlaceholder() {
	case "DURATION":
		return "want a duration: a number and a unit, like 500ms, 30s, 5m or 1h30m"
	case "INT":
		return "want a whole number, like 3"
	case "UINT64":
		return "want a whole number of 0 or more"
	case "FLOAT64":
		return "want a number, like 2.5"
	}
	return msg
}
