package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/peterbourgon/ff/v4"

	"github.com/comfygate/comfygate/api"
)

// maxWorkflowFile bounds `workflows put`: the server's default JSON limit.
const maxWorkflowFile = 8 << 20

func newWorkflowsCommand(stdout, stderr io.Writer) *ff.Command {
	return newGroup("workflows", "list, show, store and delete workflows", stdout, stderr, []clientVerb{
		{name: "list", short: "list the stored workflows", exec: listWorkflows},
		{name: "get", args: "NAME", nargs: 1, short: "show a workflow and its parameters", exec: getWorkflow},
		{name: "put", args: "NAME FILE", nargs: 2, exec: putWorkflow,
			short: "store a workflow from FILE (API or UI format JSON, or {graph, params}; - reads stdin)"},
		{name: "delete", args: "NAME", nargs: 1, short: "delete a workflow", exec: deleteWorkflow},
	})
}

func listWorkflows(ctx context.Context, s *session, _ []string) error {
	wfs, err := s.c.ListWorkflows(ctx)
	if err != nil {
		return fmt.Errorf("list workflows: %w", err)
	}
	return s.show(api.WorkflowList{Workflows: wfs}, func(w io.Writer) error {
		rows := make([][]string, 0, len(wfs))
		for _, wf := range wfs {
			rows = append(rows, []string{wf.Name, shortVersion(wf.Version), strconv.Itoa(len(wf.Params)),
				stamp(wf.UpdatedAt), orDash(oneLine(wf.Description, 60))})
		}
		return table(w, "NAME\tVERSION\tPARAMS\tUPDATED\tDESCRIPTION", rows)
	})
}

func getWorkflow(ctx context.Context, s *session, args []string) error {
	wf, err := s.c.GetWorkflow(ctx, args[0])
	if err != nil {
		return fmt.Errorf("get workflow %s: %w", args[0], err)
	}
	return s.show(wf, func(w io.Writer) error {
		if err := fields(w, [][2]string{
			{"name", wf.Name}, {"version", wf.Version}, {"description", oneLine(wf.Description, 200)},
			{"created", stamp(wf.CreatedAt)}, {"updated", stamp(wf.UpdatedAt)},
		}); err != nil {
			return err
		}
		fmt.Fprintln(w)
		return paramTable(w, wf.Params)
	})
}

func paramTable(w io.Writer, params []api.Param) error {
	rows := make([][]string, 0, len(params))
	for _, p := range params {
		rows = append(rows, []string{p.Name, p.Type, orDash(jsonText(p.Default, 30)),
			orDash(allowed(p)), p.Target, orDash(oneLine(p.Description, 50))})
	}
	return table(w, "PARAM\tTYPE\tDEFAULT\tALLOWED\tTARGET\tDESCRIPTION", rows)
}

// allowed sums up a parameter's bounds or choices.
func allowed(p api.Param) string {
	if len(p.Enum) > 0 {
		parts := make([]string, len(p.Enum))
		for i, e := range p.Enum {
			parts[i] = jsonText(e, 40)
		}
		return oneLine(strings.Join(parts, " "), 40)
	}
	if p.Minimum == nil && p.Maximum == nil {
		return ""
	}
	lo, hi := jsonText(p.Minimum, 25), jsonText(p.Maximum, 25)
	return lo + ".." + hi
}

func putWorkflow(ctx context.Context, s *session, args []string) error {
	body, err := readWorkflowFile(args[1])
	if err != nil {
		return err
	}
	wf, created, err := s.c.PutWorkflow(ctx, args[0], body)
	if err != nil {
		return fmt.Errorf("put workflow %s: %w", args[0], err)
	}
	err = s.show(wf, func(w io.Writer) error {
		verb := "replaced"
		if created {
			verb = "created"
		}
		_, err := fmt.Fprintf(w, "%s workflow %s (version %s, %d parameters)\n", verb, wf.Name, shortVersion(wf.Version), len(wf.Params))
		return err
	})
	if err != nil {
		return err
	}
	return printWarnings(s.stderr, wf.Warnings)
}

// printWarnings writes what the server found worth saying about a stored
// workflow (nothing checked yet, a model no backend has) to stderr, where
// it is seen with --json too and stays out of what scripts parse.
func printWarnings(w io.Writer, warnings []string) error {
	for _, msg := range warnings {
		if _, err := fmt.Fprintf(w, "warning: %s\n", printable(oneLine(msg, 1000))); err != nil {
			return err
		}
	}
	return nil
}

func readWorkflowFile(path string) ([]byte, error) {
	r := io.Reader(os.Stdin)
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("workflow file: %w", err)
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxWorkflowFile+1))
	if err != nil {
		return nil, fmt.Errorf("workflow file %s: %w", path, err)
	}
	if len(data) > maxWorkflowFile {
		return nil, fmt.Errorf("workflow file %s: larger than %d bytes", path, maxWorkflowFile)
	}
	if !json.Valid(data) {
		return nil, fmt.Errorf("workflow file %s: not valid JSON", path)
	}
	return data, nil
}

func deleteWorkflow(ctx context.Context, s *session, args []string) error {
	if err := s.c.DeleteWorkflow(ctx, args[0]); err != nil {
		return fmt.Errorf("delete workflow %s: %w", args[0], err)
	}
	return s.show(map[string]string{"deleted": args[0]}, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "deleted workflow %s\n", args[0])
		return err
	})
}

// shortVersion is enough of a content hash to tell versions apart.
func shortVersion(v string) string {
	if len(v) > 12 {
		return v[:12]
	}
	return orDash(v)
}

// jsonText renders a value as JSON on one bounded line ("" for nil).
func jsonText(v any, limit int) string {
	if v == nil {
		return ""
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return oneLine(string(data), limit)
}

// oneLine keeps table cells on one line and at most limit runes long.
func oneLine(s string, limit int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > limit {
		return string(r[:limit-1]) + "…"
	}
	return s
}
